fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(floorwatch::cmd::main())
}
