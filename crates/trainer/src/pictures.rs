//! PNG pictures: digits (as the notebook's `plt.imshow`, viridis), learning
//! curves and the confusion matrix. Drawn with plotters into memory, then
//! written atomically.

use std::path::Path;
use std::sync::OnceLock;

use data::{IMAGE_PIXELS, IMAGE_SIDE, NUM_CLASSES};
use plotters::coord::Shift;
use plotters::prelude::*;

use inference::ConfusionMatrix;
use runs::history::EpochRecord;
use runs::{RunError, write_atomic};

const FONT: &str = "sans-serif";

/// Why a picture could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    /// Plotters could not draw it.
    #[error("cannot draw the picture: {0}")]
    Draw(String),
    /// The embedded font does not load.
    #[error("the embedded DejaVu Sans font does not load")]
    Font,
    /// The PNG encoder failed.
    #[error("{}: cannot encode PNG", path.display())]
    Encode {
        /// The file.
        path: std::path::PathBuf,
        /// The encoder's error.
        source: image::ImageError,
    },
    /// The file could not be written.
    #[error(transparent)]
    Write(#[from] RunError),
    /// A directory of pictures without one.
    #[error("{}: no .png or .jpg images in this directory", dir.display())]
    NoImages {
        /// The directory.
        dir: std::path::PathBuf,
    },
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for PictureError {
    fn from(err: DrawingAreaErrorKind<E>) -> Self {
        Self::Draw(format!("{err:?}"))
    }
}

type Result<T> = std::result::Result<T, PictureError>;

/// A digit's pixels and the text shown above it.
pub struct Captioned<'a> {
    /// 28x28 pixels, 0..255.
    pub pixels: &'a [u8; IMAGE_PIXELS],
    /// Its caption.
    pub caption: String,
}

/// One digit, `scale` screen pixels per image pixel, captioned.
pub fn save_digit(path: &Path, digit: &Captioned, scale: u32) -> Result<()> {
    save_digit_grid(path, std::slice::from_ref(digit), 1, 1, scale)
}

/// Digits in a `rows` x `cols` grid, each captioned, `scale` pixels per pixel.
pub fn save_digit_grid(
    path: &Path,
    digits: &[Captioned],
    rows: usize,
    cols: usize,
    scale: u32,
) -> Result<()> {
    let side = IMAGE_SIDE as u32 * scale;
    let caption = (side / 6).clamp(16, 30);
    let (cell_w, cell_h) = (side + 8, side + caption + 8);
    let size = (cell_w * cols as u32, cell_h * rows as u32);
    render(path, size, |root| {
        root.fill(&WHITE)?;
        for (index, digit) in digits.iter().take(rows * cols).enumerate() {
            let x0 = (index % cols) as i32 * cell_w as i32 + 4;
            let y0 = (index / cols) as i32 * cell_h as i32 + 4;
            root.draw(&Text::new(
                digit.caption.clone(),
                (x0, y0),
                (FONT, caption as f64 * 0.8).into_font(),
            ))?;
            let top = y0 + caption as i32;
            for (i, &pixel) in digit.pixels.iter().enumerate() {
                let x = x0 + (i % IMAGE_SIDE) as i32 * scale as i32;
                let y = top + (i / IMAGE_SIDE) as i32 * scale as i32;
                let colour = ViridisRGB::get_color(f32::from(pixel) / 255.0);
                root.draw(&Rectangle::new(
                    [(x, y), (x + scale as i32, y + scale as i32)],
                    colour.filled(),
                ))?;
            }
        }
        Ok(())
    })
}

/// Loss (log scale; the training loss per step, faint, and per epoch) and
/// accuracy per epoch, training and validation.
pub fn save_curves(path: &Path, epochs: &[EpochRecord], step_losses: &[f64]) -> Result<()> {
    let last_epoch = epochs.last().map_or(1.0, |e| e.epoch as f64);
    let steps_per_epoch = (step_losses.len() as f64 / last_epoch).max(1.0);
    let step_points: Vec<(f64, f64)> = step_losses
        .iter()
        .enumerate()
        .filter(|(_, loss)| loss.is_finite() && **loss > 0.0)
        .map(|(i, &loss)| ((i + 1) as f64 / steps_per_epoch, loss))
        .collect();
    let losses = step_points
        .iter()
        .map(|p| p.1)
        .chain(epochs.iter().flat_map(|e| [e.loss, e.val_loss]))
        .filter(|l| l.is_finite() && *l > 0.0);
    let (low, high) = losses.fold((f64::MAX, f64::MIN), |(lo, hi), l| (lo.min(l), hi.max(l)));
    let (low, high) = if low <= high {
        (low * 0.8, high * 1.25)
    } else {
        (0.01, 10.0)
    };
    let epoch_points = |value: fn(&EpochRecord) -> f64| -> Vec<(f64, f64)> {
        epochs.iter().map(|e| (e.epoch as f64, value(e))).collect()
    };

    render(path, (1100, 440), |root| {
        root.fill(&WHITE)?;
        let (left, right) = root.split_horizontally(550);

        let mut loss = ChartBuilder::on(&left)
            .caption("loss (log scale)", (FONT, 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..last_epoch, (low..high).log_scale())?;
        loss.configure_mesh().x_desc("epoch").draw()?;
        loss.draw_series(LineSeries::new(step_points, BLUE.mix(0.25)))?
            .label("train, per step")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], BLUE.mix(0.25)));
        draw_epoch_series(&mut loss, epoch_points(|e| e.loss), BLUE, "train")?;
        draw_epoch_series(&mut loss, epoch_points(|e| e.val_loss), RED, "validation")?;
        loss.configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.85))
            .draw()?;

        let accuracies = epochs.iter().flat_map(|e| [e.accuracy, e.val_accuracy]);
        let lowest = accuracies.filter(|a| a.is_finite()).fold(1.0f64, f64::min);
        let mut accuracy = ChartBuilder::on(&right)
            .caption("accuracy", (FONT, 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..last_epoch, (lowest - 0.02).max(0.0)..1.0)?;
        accuracy.configure_mesh().x_desc("epoch").draw()?;
        draw_epoch_series(&mut accuracy, epoch_points(|e| e.accuracy), BLUE, "train")?;
        draw_epoch_series(
            &mut accuracy,
            epoch_points(|e| e.val_accuracy),
            RED,
            "validation",
        )?;
        accuracy
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .border_style(BLACK)
            .background_style(WHITE.mix(0.85))
            .draw()?;
        Ok(())
    })
}

/// Validation loss (log scale) and accuracy per epoch of several runs,
/// overlaid, one colour per run, labelled.
pub fn save_comparison(path: &Path, runs: &[(String, &[EpochRecord])]) -> Result<()> {
    let last_epoch = runs
        .iter()
        .flat_map(|(_, epochs)| epochs.last())
        .map(|e| e.epoch as f64)
        .fold(1.0, f64::max);
    let finite = |values: Vec<f64>| values.into_iter().filter(|v| v.is_finite() && *v > 0.0);
    let values = |value: fn(&EpochRecord) -> f64| -> Vec<f64> {
        runs.iter()
            .flat_map(|(_, epochs)| epochs.iter().map(value))
            .collect()
    };
    let (low, high) = finite(values(|e| e.val_loss))
        .fold((f64::MAX, f64::MIN), |(lo, hi), l| (lo.min(l), hi.max(l)));
    let (low, high) = if low <= high {
        (low * 0.8, high * 1.25)
    } else {
        (0.01, 10.0)
    };
    let lowest = finite(values(|e| e.val_accuracy)).fold(1.0f64, f64::min);
    let legend_height = 24 * runs.len() as u32;

    render(path, (1100, 440 + legend_height), |root| {
        root.fill(&WHITE)?;
        let (charts, legend) = root.split_vertically(440);
        let (left, right) = charts.split_horizontally(550);
        let mut loss = ChartBuilder::on(&left)
            .caption("validation loss (log scale)", (FONT, 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..last_epoch, (low..high).log_scale())?;
        loss.configure_mesh().x_desc("epoch").draw()?;
        let mut accuracy = ChartBuilder::on(&right)
            .caption("validation accuracy", (FONT, 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..last_epoch, (lowest - 0.02).max(0.0)..1.0)?;
        accuracy.configure_mesh().x_desc("epoch").draw()?;
        for (index, (label, epochs)) in runs.iter().enumerate() {
            let colour = Palette99::pick(index).to_rgba();
            let colour = RGBColor(colour.0, colour.1, colour.2);
            let points = |value: fn(&EpochRecord) -> f64| -> Vec<(f64, f64)> {
                epochs.iter().map(|e| (e.epoch as f64, value(e))).collect()
            };
            draw_epoch_series(&mut loss, points(|e| e.val_loss), colour, label)?;
            draw_epoch_series(&mut accuracy, points(|e| e.val_accuracy), colour, label)?;
            let y = 4 + 24 * index as i32;
            legend.draw(&Rectangle::new(
                [(20, y + 4), (44, y + 14)],
                colour.filled(),
            ))?;
            legend.draw(&Text::new(label.clone(), (52, y), (FONT, 16).into_font()))?;
        }
        Ok(())
    })
}

type Chart<'a, 'b, Y> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>;

fn draw_epoch_series<Y>(
    chart: &mut Chart<'_, '_, Y>,
    points: Vec<(f64, f64)>,
    colour: RGBColor,
    label: &str,
) -> Result<()>
where
    Y: plotters::coord::ranged1d::Ranged<ValueType = f64>,
{
    chart
        .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
        .label(label)
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], colour.stroke_width(2)));
    chart.draw_series(
        points
            .into_iter()
            .map(|p| Circle::new(p, 4, colour.filled())),
    )?;
    Ok(())
}

/// The confusion matrix, rows true labels, columns predictions, cells shaded
/// by their share of the row and annotated with counts.
pub fn save_confusion(path: &Path, matrix: &ConfusionMatrix) -> Result<()> {
    const CELL: i32 = 52;
    const MARGIN: i32 = 70;
    let side = MARGIN + CELL * NUM_CLASSES as i32 + 20;
    render(path, (side as u32, side as u32 + 10), |root| {
        root.fill(&WHITE)?;
        let font = (FONT, 17).into_font();
        root.draw(&Text::new(
            format!("confusion matrix, accuracy {:.4}", matrix.accuracy()),
            (MARGIN, 8),
            (FONT, 19).into_font(),
        ))?;
        root.draw(&Text::new(
            "predicted →",
            (MARGIN + 4 * CELL, 36),
            font.clone(),
        ))?;
        root.draw(&Text::new("true ↓", (6, MARGIN - 20), font.clone()))?;
        for class in 0..NUM_CLASSES {
            let offset = MARGIN + class as i32 * CELL + CELL / 2 - 5;
            root.draw(&Text::new(
                class.to_string(),
                (offset, MARGIN - 18),
                font.clone(),
            ))?;
            root.draw(&Text::new(
                class.to_string(),
                (MARGIN - 22, offset - 4),
                font.clone(),
            ))?;
        }
        for (row, counts) in matrix.counts().iter().enumerate() {
            let total = counts.iter().sum::<usize>().max(1) as f64;
            for (col, &count) in counts.iter().enumerate() {
                let share = count as f64 / total;
                let (x, y) = (MARGIN + col as i32 * CELL, MARGIN + row as i32 * CELL);
                let shade = (255.0 * (1.0 - share.sqrt())) as u8;
                let fill = RGBColor(shade, shade, 255);
                root.draw(&Rectangle::new(
                    [(x, y), (x + CELL, y + CELL)],
                    fill.filled(),
                ))?;
                root.draw(&Rectangle::new(
                    [(x, y), (x + CELL, y + CELL)],
                    BLACK.mix(0.2),
                ))?;
                let ink = if share > 0.4 { WHITE } else { BLACK };
                let text = count.to_string();
                let text_x = x + CELL / 2 - 4 * text.len() as i32;
                root.draw(&Text::new(
                    text,
                    (text_x, y + CELL / 2 - 8),
                    font.clone().color(&ink),
                ))?;
            }
        }
        Ok(())
    })
}

/// Draws into an in-memory RGB buffer, encodes it as PNG, writes it atomically.
fn render(
    path: &Path,
    (width, height): (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend, Shift>) -> Result<()>,
) -> Result<()> {
    register_font()?;
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        draw(&root)?;
        root.present()?;
    }
    let image = image::RgbImage::from_raw(width, height, rgb)
        .ok_or_else(|| PictureError::Draw("picture buffer has the wrong size".into()))?;
    let mut png = Vec::new();
    image
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|source| PictureError::Encode {
            path: path.to_owned(),
            source,
        })?;
    Ok(write_atomic(path, &png)?)
}

/// Plotters draws text with fonts it is given: DejaVu Sans, embedded.
fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
    });
    if *ok { Ok(()) } else { Err(PictureError::Font) }
}
