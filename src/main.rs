use std::process::ExitCode;

trawl::allocator!();

fn main() -> ExitCode {
    trawl::cli::main()
}
