//! `wattevo`: evolves neural networks that are accurate and frugal on a real edge board.
//! See `wattevo --help` and the README.

fn main() -> std::process::ExitCode {
    wattevo::cli::main()
}
