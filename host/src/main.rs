//! `wattevo`: evolves neural networks that are accurate and frugal on a real edge board.
//! See `wattevo --help` and the README.

/// Training allocates and frees buffers of megabytes every batch; glibc's malloc returns each to
/// the kernel and faults it back in (scripts/bench_train_vs_pytorch.sh measures the difference).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    wattevo::cli::main()
}
