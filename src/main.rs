use std::process::ExitCode;

fn main() -> ExitCode {
    trawl::cli::main()
}
