//! The `vigie` command line: parses arguments and calls the library.
fn main() {
    eprintln!("vigie: under construction");
    std::process::exit(2);
}
