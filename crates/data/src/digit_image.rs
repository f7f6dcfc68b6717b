//! A user's picture of a digit, made to look like MNIST (the recipe of the
//! original data set): grey, white ink on black, the ink's bounding box scaled
//! into 20x20 and centred by its centre of mass in 28x28.

use std::path::Path;

use image::imageops::FilterType;
use image::{GrayImage, ImageFormat, ImageReader, Limits};

use crate::error::DataError;
use crate::{IMAGE_PIXELS, IMAGE_SIDE};

/// Side of the box the ink is scaled into, as in MNIST.
const INK_BOX: u32 = 20;
/// A pixel (after inversion) above this counts as ink when finding its bounding box.
pub const INK_THRESHOLD: u8 = 50;
/// The largest side accepted, so that memory stays bounded.
pub const MAX_SIDE: u32 = 8192;
/// The largest file accepted.
const MAX_FILE_BYTES: u64 = 64 << 20;
/// The most memory the decoder may allocate.
const MAX_DECODE_BYTES: u64 = 256 << 20;

/// Reads an image file (PNG or JPEG; any size, colour or grey) and turns it
/// into 28x28 MNIST-like pixels.
pub fn digit_from_image_file(path: &Path) -> Result<[u8; IMAGE_PIXELS], DataError> {
    let bad = |reason: String| DataError::BadImage {
        path: path.to_owned(),
        reason,
    };
    let metadata = std::fs::metadata(path).map_err(|source| DataError::Io {
        path: path.to_owned(),
        source,
    })?;
    if metadata.is_dir() {
        return Err(DataError::NotAFile {
            path: path.to_owned(),
        });
    }
    if metadata.len() == 0 {
        return Err(DataError::Empty {
            path: path.to_owned(),
        });
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(bad(format!(
            "{} bytes is too large for a digit picture (at most {MAX_FILE_BYTES})",
            metadata.len()
        )));
    }
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_owned(),
        source,
    })?;
    // The content decides the format, not the file name.
    let format = match image::guess_format(&bytes) {
        Ok(format @ (ImageFormat::Png | ImageFormat::Jpeg)) => format,
        _ => return Err(bad("not a PNG or JPEG image".into())),
    };
    let mut reader = ImageReader::with_format(std::io::Cursor::new(&bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let image = reader.decode().map_err(|err| bad(err.to_string()))?;
    if image.width() == 0 || image.height() == 0 {
        return Err(bad("the image has no pixels (0x0)".into()));
    }
    digit_from_grey(&image.to_luma8()).map_err(bad)
}

/// The MNIST recipe on a greyscale picture; the error says why it cannot apply.
pub fn digit_from_grey(grey: &GrayImage) -> Result<[u8; IMAGE_PIXELS], String> {
    let mut ink = grey.clone();
    // MNIST is white ink on black: a light background means dark ink, so invert.
    if border_mean(grey) > 127.0 {
        image::imageops::invert(&mut ink);
    }
    let (left, top, right, bottom) =
        ink_bounds(&ink).ok_or("no ink found: the image is blank".to_string())?;
    let cropped =
        image::imageops::crop_imm(&ink, left, top, right - left + 1, bottom - top + 1).to_image();

    // The longer side becomes 20 pixels, keeping the aspect ratio.
    let (width, height) = cropped.dimensions();
    let scale = f64::from(INK_BOX) / f64::from(width.max(height));
    let new_width = ((f64::from(width) * scale).round() as u32).clamp(1, INK_BOX);
    let new_height = ((f64::from(height) * scale).round() as u32).clamp(1, INK_BOX);
    let boxed = image::imageops::resize(&cropped, new_width, new_height, FilterType::Triangle);

    Ok(centre_by_mass(&boxed))
}

/// Mean value of the outermost pixels, which are background in a digit picture.
fn border_mean(image: &GrayImage) -> f64 {
    let (width, height) = image.dimensions();
    let border = image
        .enumerate_pixels()
        .filter(|(x, y, _)| *x == 0 || *y == 0 || *x == width - 1 || *y == height - 1);
    let (sum, count) = border.fold((0.0, 0usize), |(sum, count), (_, _, p)| {
        (sum + f64::from(p.0[0]), count + 1)
    });
    sum / count.max(1) as f64
}

/// Inclusive bounding box `(left, top, right, bottom)` of the ink, if any.
fn ink_bounds(image: &GrayImage) -> Option<(u32, u32, u32, u32)> {
    image
        .enumerate_pixels()
        .filter(|(_, _, p)| p.0[0] > INK_THRESHOLD)
        .fold(None, |bounds, (x, y, _)| {
            Some(match bounds {
                None => (x, y, x, y),
                Some((l, t, r, b)) => (l.min(x), t.min(y), r.max(x), b.max(y)),
            })
        })
}

/// Pastes `small` into a black 28x28 so that its centre of mass lands on the
/// centre (14, 14); pixels shifted out of the frame are dropped.
fn centre_by_mass(small: &GrayImage) -> [u8; IMAGE_PIXELS] {
    let (mut mass, mut sum_x, mut sum_y) = (0.0, 0.0, 0.0);
    for (x, y, p) in small.enumerate_pixels() {
        let m = f64::from(p.0[0]);
        mass += m;
        sum_x += m * (f64::from(x) + 0.5);
        sum_y += m * (f64::from(y) + 0.5);
    }
    let centre = IMAGE_SIDE as f64 / 2.0;
    let (cx, cy) = if mass > 0.0 {
        (sum_x / mass, sum_y / mass)
    } else {
        (
            f64::from(small.width()) / 2.0,
            f64::from(small.height()) / 2.0,
        )
    };
    let offset_x = (centre - cx).round() as i64;
    let offset_y = (centre - cy).round() as i64;

    let mut out = [0u8; IMAGE_PIXELS];
    for (x, y, p) in small.enumerate_pixels() {
        let (tx, ty) = (i64::from(x) + offset_x, i64::from(y) + offset_y);
        if (0..IMAGE_SIDE as i64).contains(&tx) && (0..IMAGE_SIDE as i64).contains(&ty) {
            out[ty as usize * IMAGE_SIDE + tx as usize] = p.0[0];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(
        width: u32,
        height: u32,
        background: u8,
        ink: u8,
        rect: (u32, u32, u32, u32),
    ) -> GrayImage {
        GrayImage::from_fn(width, height, |x, y| {
            let (l, t, r, b) = rect;
            image::Luma([if (l..=r).contains(&x) && (t..=b).contains(&y) {
                ink
            } else {
                background
            }])
        })
    }

    fn bounds_of(pixels: &[u8; IMAGE_PIXELS]) -> (usize, usize, usize, usize) {
        let ink: Vec<(usize, usize)> = (0..IMAGE_PIXELS)
            .filter(|&i| pixels[i] > INK_THRESHOLD)
            .map(|i| (i % IMAGE_SIDE, i / IMAGE_SIDE))
            .collect();
        let xs = ink.iter().map(|p| p.0);
        let ys = ink.iter().map(|p| p.1);
        (
            xs.clone().min().unwrap(),
            ys.clone().min().unwrap(),
            xs.max().unwrap(),
            ys.max().unwrap(),
        )
    }

    #[test]
    fn a_square_of_ink_fills_the_20x20_box_centred() {
        // White ink on black, off-centre in a 100x100 picture.
        let digit = digit_from_grey(&picture(100, 100, 0, 255, (10, 50, 49, 89))).unwrap();
        assert_eq!(
            bounds_of(&digit),
            (4, 4, 23, 23),
            "20x20 box centred at (14, 14)"
        );
        assert_eq!(digit[14 * IMAGE_SIDE + 14], 255);
        assert_eq!(digit[0], 0);
    }

    #[test]
    fn dark_ink_on_light_paper_is_inverted() {
        let light = digit_from_grey(&picture(60, 60, 250, 5, (20, 20, 39, 39))).unwrap();
        let dark = digit_from_grey(&picture(60, 60, 0, 250, (20, 20, 39, 39))).unwrap();
        assert_eq!(light[14 * IMAGE_SIDE + 14], 250);
        assert_eq!(light[0], 0, "the light background becomes black");
        assert_eq!(light, dark);
    }

    #[test]
    fn a_tall_stroke_keeps_its_aspect_ratio() {
        // 10 wide, 40 tall -> 5 wide, 20 tall.
        let digit = digit_from_grey(&picture(80, 80, 0, 255, (30, 20, 39, 59))).unwrap();
        let (left, top, right, bottom) = bounds_of(&digit);
        assert_eq!((right - left + 1, bottom - top + 1), (5, 20));
        assert_eq!((top, bottom), (4, 23));
        assert!((11..=13).contains(&left), "horizontally centred: {left}");
    }

    #[test]
    fn the_centre_of_mass_not_the_box_is_centred() {
        // An L: a heavy vertical bar and a thin foot; its mass sits left of its box's centre.
        let mut image = picture(40, 40, 0, 255, (0, 0, 4, 39));
        for x in 5..40 {
            for y in 36..40 {
                image.put_pixel(x, y, image::Luma([255]));
            }
        }
        let digit = digit_from_grey(&image).unwrap();
        let (left, _, _, _) = bounds_of(&digit);
        assert!(
            left > 4,
            "shifted right so the mass is centred: box starts at {left}"
        );
        let (mass, sum_x) = (0..IMAGE_PIXELS).fold((0.0, 0.0), |(m, s), i| {
            let v = f64::from(digit[i]);
            (m + v, s + v * ((i % IMAGE_SIDE) as f64 + 0.5))
        });
        assert!(
            (sum_x / mass - 14.0).abs() <= 1.0,
            "centre of mass x {}",
            sum_x / mass
        );
    }

    #[test]
    fn a_blank_picture_is_refused() {
        let err = digit_from_grey(&picture(30, 30, 255, 255, (0, 0, 0, 0))).unwrap_err();
        assert!(err.contains("no ink"), "{err}");
    }
}
