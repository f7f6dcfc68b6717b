//! `trainer compare`: runs side by side, and their validation curves.

use crate::cli::CompareArgs;
use crate::compare::{collect, save_picture, table};
use crate::error::Error;

/// Prints the table of the runs `args` name and draws their curves.
pub fn run(args: &CompareArgs) -> Result<(), Error> {
    let runs = collect(&args.runs)?;
    print!("{}", table(&runs));
    save_picture(&args.output, &runs)?;
    println!("validation curves: {}", args.output.display());
    Ok(())
}
