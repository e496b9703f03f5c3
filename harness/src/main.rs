fn main() -> std::process::ExitCode {
    podcheck::cli::main()
}
