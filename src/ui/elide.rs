//! Shortening text to a width without losing what tells it apart: the
//! middle of a name or path goes (`Medidor…201`, `/data/…/readings.csv`),
//! its start and its end stay.

/// `text` in at most `width` characters: whole when it fits, else its start
/// and end around an ellipsis (the end gets the odd character: ids and file
/// names differ at the end).
pub fn middle(text: &str, width: usize) -> String {
    let count = text.chars().count();
    if count <= width {
        return text.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let keep = width - 1;
    let head = keep / 2;
    let tail = keep - head;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(count - tail).collect();
    format!("{start}…{end}")
}

/// A message in at most `width` characters: its longest words that look like
/// paths (they hold a `/`) are middle-elided first, as far as needed; only
/// a message with no path left to shorten loses its middle as a whole.
pub fn message(text: &str, width: usize) -> String {
    let mut words: Vec<String> = text.split(' ').map(str::to_owned).collect();
    let length = |words: &[String]| {
        words.iter().map(|w| w.chars().count()).sum::<usize>() + words.len().saturating_sub(1)
    };
    while length(&words) > width {
        let over = length(&words) - width;
        let longest_path = words
            .iter()
            .enumerate()
            .filter(|(_, w)| w.contains('/') && w.chars().count() > MIN_PATH)
            .max_by_key(|(_, w)| w.chars().count())
            .map(|(i, _)| i);
        let Some(i) = longest_path else {
            return middle(&words.join(" "), width);
        };
        let len = words[i].chars().count();
        words[i] = middle(&words[i], len.saturating_sub(over).max(MIN_PATH));
    }
    words.join(" ")
}

/// Shortest a path is elided to: `…` and a few characters each side.
const MIN_PATH: usize = 9;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn middle_keeps_what_tells_names_apart() {
        assert_eq!(middle("Medidor 201", 11), "Medidor 201");
        assert_eq!(middle("Medidor 201", 8), "Med… 201");
        let names = ["Medidor 201", "Medidor 202", "Medidor 203"].map(|n| middle(n, 6));
        assert_eq!(names, ["Me…201", "Me…202", "Me…203"]);
        assert_eq!(middle("abc", 0), "");
        assert_eq!(middle("abc", 1), "…");
    }

    #[test]
    fn a_message_loses_the_middle_of_its_path_first() {
        let text = "exported 25 rows to /home/operator/.local/share/floorwatch/exports/readings-tenant-a.kwh-20261201-1.csv";
        let fitted = message(text, 78);
        assert_eq!(fitted.chars().count(), 78, "{fitted}");
        assert!(fitted.starts_with("exported 25 rows to /home/"), "{fitted}");
        assert!(fitted.ends_with("20261201-1.csv"), "{fitted}");
        assert!(fitted.contains('…'));
        assert_eq!(message("short", 78), "short");
    }

    #[test]
    fn a_message_without_a_path_loses_its_middle() {
        let fitted = message(&"word ".repeat(30), 20);
        assert_eq!(fitted.chars().count(), 20);
        assert!(fitted.contains('…'));
    }
}
