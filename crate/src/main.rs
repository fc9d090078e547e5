fn main() {
    std::process::exit(crashlens::cli::main(std::env::args().skip(1).collect()));
}
