//! `trainer show`: the notebook's `plt.imshow(X_train[0])`, as a PNG.

use std::path::PathBuf;

use data::{DataSource, Split};

use crate::cli::ShowArgs;
use crate::error::Error;
use crate::pictures::{Captioned, save_digit, save_digit_grid};
use inference::load_split;

/// Screen pixels per image pixel for one digit, and in a grid.
const SCALE_ONE: u32 = 10;
const SCALE_GRID: u32 = 4;

/// Draws one sample, or a grid of samples, into a PNG.
pub fn run(args: &ShowArgs) -> Result<(), Error> {
    let split = Split::from(args.split);
    let name = match split {
        Split::Train => "train",
        Split::Test => "test",
    };
    let source = DataSource::resolve(args.data.data_dir.as_deref())?;
    let dataset = load_split(&source, split, None)?;
    let (rows, cols) = args.grid.unwrap_or((1, 1));
    let count = rows * cols;
    // Checked: a huge --index must be an error, not an overflow.
    if args
        .index
        .checked_add(count)
        .is_none_or(|end| end > dataset.len())
    {
        return Err(Error::Usage(format!(
            "--index {} with {count} sample(s) goes past the {} items of the {name} split",
            args.index,
            dataset.len()
        )));
    }
    let items: Vec<_> = (args.index..args.index + count)
        .filter_map(|index| dataset.item(index).map(|item| (index, item)))
        .collect();
    let digits: Vec<Captioned> = items
        .iter()
        .map(|(index, item)| Captioned {
            pixels: &item.pixels,
            caption: format!("{name}[{index}]: {}", item.label),
        })
        .collect();
    let out = match (&args.output, args.grid) {
        (Some(out), _) => out.clone(),
        (None, None) => PathBuf::from(format!(
            "{name}-{}-label-{}.png",
            args.index, items[0].1.label
        )),
        (None, Some(_)) => PathBuf::from(format!("{name}-{}-grid-{rows}x{cols}.png", args.index)),
    };
    if args.grid.is_some() {
        save_digit_grid(&out, &digits, rows, cols, SCALE_GRID)?;
    } else {
        save_digit(&out, &digits[0], SCALE_ONE)?;
    }
    println!("{}", out.display());
    Ok(())
}
