//! Where a report goes: stdout, or a file written atomically (a temporary
//! file in the same directory, renamed over the target only once complete),
//! so a half-written report is never presented as finished.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    Stdout,
    File(PathBuf),
}

impl Destination {
    /// `-` (or nothing) is stdout.
    pub fn from_arg(arg: Option<&Path>) -> Self {
        match arg {
            None => Destination::Stdout,
            Some(p) if p.as_os_str() == "-" => Destination::Stdout,
            Some(p) => Destination::File(p.to_owned()),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Destination::Stdout => "stdout".into(),
            Destination::File(p) => p.display().to_string(),
        }
    }
}

pub enum Sink {
    Stdout(io::Stdout),
    File {
        temp: tempfile::NamedTempFile,
        target: PathBuf,
    },
}

impl Sink {
    pub fn open(dest: &Destination) -> io::Result<Sink> {
        match dest {
            Destination::Stdout => Ok(Sink::Stdout(io::stdout())),
            Destination::File(target) => {
                let dir = match target.parent() {
                    Some(d) if !d.as_os_str().is_empty() => d,
                    _ => Path::new("."),
                };
                let name = target
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let prefix = format!(".{name}.");
                let mut builder = tempfile::Builder::new();
                builder.prefix(&prefix).suffix(".partial");
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    // Like a normal new file: 0666 less the umask.
                    builder.permissions(std::fs::Permissions::from_mode(0o666));
                }
                let temp = builder.tempfile_in(dir)?;
                Ok(Sink::File {
                    temp,
                    target: target.clone(),
                })
            }
        }
    }

    /// Makes the report visible: flushes stdout, or syncs the temporary file
    /// and renames it over the target. Dropping a sink without committing
    /// deletes the temporary file.
    pub fn commit(self) -> io::Result<()> {
        match self {
            Sink::Stdout(mut out) => out.flush(),
            Sink::File { mut temp, target } => {
                temp.flush()?;
                temp.as_file().sync_all()?;
                temp.persist(&target).map_err(|e| e.error)?;
                Ok(())
            }
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Stdout(out) => out.write(buf),
            Sink::File { temp, .. } => temp.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Sink::Stdout(out) => out.write_all(buf),
            Sink::File { temp, .. } => temp.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Stdout(out) => out.flush(),
            Sink::File { temp, .. } => temp.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_appears_only_on_commit_and_an_abandoned_one_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("r.csv");
        let dest = Destination::File(target.clone());

        let mut sink = Sink::open(&dest).unwrap();
        sink.write_all(b"half").unwrap();
        assert!(!target.exists());
        drop(sink);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        std::fs::write(&target, "old").unwrap();
        let mut sink = Sink::open(&dest).unwrap();
        sink.write_all(b"new,report\n").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
        sink.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new,report\n");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn dash_is_stdout() {
        assert_eq!(
            Destination::from_arg(Some(Path::new("-"))),
            Destination::Stdout
        );
        assert_eq!(Destination::from_arg(None), Destination::Stdout);
    }
}
