use super::*;

#[test]
fn load_progress_line() {
    let p = LoadProgress {
        file: Arc::from("factory_day.csv"),
        bytes: 420,
        total_bytes: 1000,
        rows: 1_234_567,
    };
    assert_eq!(p.line(), "loading factory_day.csv 42% (1.2 M rows)");
    let unknown = LoadProgress {
        total_bytes: 0,
        rows: 950,
        ..p.clone()
    };
    assert_eq!(unknown.line(), "loading factory_day.csv 0% (950 rows)");
    let over = LoadProgress {
        bytes: 2000,
        rows: 12_500,
        ..p
    };
    assert_eq!(over.line(), "loading factory_day.csv 100% (12.5 k rows)");
}
