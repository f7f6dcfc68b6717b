//! A user's picture of a digit, made to look like MNIST (the recipe of the
//! original data set): white ink on black, the ink's bounding box scaled into
//! 20x20 and centred by its centre of mass in 28x28.
//!
//! The background is the picture's most common colour (not its border's,
//! which a frame or a caption band would decide), and ink is how far a
//! pixel's colour lies from it: dark on light, light on dark and colour on
//! colour all work. A frame or caption around the background (as
//! `trainer show` draws) is cut away first, so it does not count as ink.

use std::io::Read;
use std::path::Path;

use image::imageops::FilterType;
use image::{GrayImage, ImageFormat, ImageReader, Limits, Rgb, RgbImage};

use crate::error::DataError;
use crate::{IMAGE_PIXELS, IMAGE_SIDE};

/// Side of the box the ink is scaled into, as in MNIST.
const INK_BOX: u32 = 20;
/// A pixel (after inversion) above this counts as ink when finding its bounding box.
pub const INK_THRESHOLD: u8 = 50;
/// The largest side accepted, so that memory stays bounded.
pub const MAX_SIDE: u32 = 8192;
/// The most pixels a picture may declare (a 16-megapixel photo), checked
/// from its header before anything is decoded: an 87 KB PNG can declare
/// 8192x8192.
pub const MAX_PIXELS: u64 = 16 << 20;
/// The largest file accepted.
const MAX_FILE_BYTES: u64 = 64 << 20;
/// The most memory the decoder may allocate, for the pixels and for
/// compressed chunks such as an ICC profile (a 305 KB PNG's can inflate to
/// hundreds of MB): a 16-megapixel RGBA8 picture, exactly.
const MAX_DECODE_BYTES: u64 = 64 << 20;
/// The longest side the MNIST recipe works on: a larger picture is shrunk
/// to it first (by area averaging, which needs no buffer but its output:
/// a filtered resize holds a float copy of the picture), so that the
/// recipe's copies of it stay small. Far more than the 20 pixels the digit
/// ends up in.
const WORKING_SIDE: u32 = 1024;

/// Reads an image file (PNG or JPEG; any size, colour or grey) and turns it
/// into 28x28 MNIST-like pixels.
pub fn digit_from_image_file(path: &Path) -> Result<[u8; IMAGE_PIXELS], DataError> {
    let bad = |reason: String| DataError::BadImage {
        path: path.to_owned(),
        reason,
    };
    let io = |source| DataError::Io {
        path: path.to_owned(),
        source,
    };
    // A directory, FIFO or device is refused before it is opened (a FIFO
    // would block the read).
    let metadata = std::fs::metadata(path).map_err(io)?;
    if !metadata.is_file() {
        return Err(DataError::NotAFile {
            path: path.to_owned(),
        });
    }
    // Read to one byte past the limit, whatever the metadata says: files of
    // /proc report a length of 0 and still have content.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(io)?;
    if bytes.is_empty() {
        return Err(DataError::Empty {
            path: path.to_owned(),
        });
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(bad(format!(
            "{} bytes is too large for a digit picture (at most {MAX_FILE_BYTES})",
            metadata.len().max(bytes.len() as u64)
        )));
    }
    digit_from_image_bytes(&bytes).map_err(bad)
}

/// Decodes a PNG or JPEG held in memory (an upload) and turns it into 28x28
/// MNIST-like pixels; the error says why it cannot.
pub fn digit_from_image_bytes(bytes: &[u8]) -> Result<[u8; IMAGE_PIXELS], String> {
    if bytes.is_empty() {
        return Err("the picture is empty (0 bytes)".into());
    }
    // The content decides the format, not the file name.
    let format = match image::guess_format(bytes) {
        Ok(format @ (ImageFormat::Png | ImageFormat::Jpeg)) => format,
        _ => return Err("not a PNG or JPEG image".into()),
    };
    let bytes = &without_colour_profile(bytes);
    let reader = || {
        let mut reader = ImageReader::with_format(std::io::Cursor::new(bytes), format);
        let mut limits = Limits::default();
        limits.max_image_width = Some(MAX_SIDE);
        limits.max_image_height = Some(MAX_SIDE);
        limits.max_alloc = Some(MAX_DECODE_BYTES);
        reader.limits(limits);
        reader
    };
    let (width, height) = reader().into_dimensions().map_err(|err| err.to_string())?;
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(format!(
            "{width}x{height} pixels is more than the {} megapixels a digit picture may have",
            MAX_PIXELS >> 20
        ));
    }
    let mut image = reader().decode().map_err(|err| err.to_string())?;
    if image.width() == 0 || image.height() == 0 {
        return Err("the image has no pixels (0x0)".into());
    }
    if image.width().max(image.height()) > WORKING_SIDE {
        image = image.thumbnail(WORKING_SIDE, WORKING_SIDE);
    }
    digit_from_picture(&image.to_rgb8())
}

/// A PNG's bytes without its `iCCP` chunks (other formats, and PNGs whose
/// chunks do not add up, unchanged). The recipe reads raw values, never the
/// colour profile, and a profile is compressed: 59 KB of one inflate to
/// 60 MB, which the decoder holds (twice, as it grows) while it reads the
/// header.
fn without_colour_profile(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    let Some(mut rest) = bytes.strip_prefix(SIGNATURE) else {
        return bytes.into();
    };
    let mut kept = SIGNATURE.to_vec();
    let mut dropped = false;
    // Each chunk: length (4 bytes, big-endian), type (4), data, CRC (4).
    while rest.len() >= 12 {
        let length = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let Some(chunk) = length.checked_add(12).and_then(|whole| rest.get(..whole)) else {
            return bytes.into();
        };
        if &chunk[4..8] == b"iCCP" {
            dropped = true;
        } else {
            kept.extend_from_slice(chunk);
        }
        rest = &rest[chunk.len()..];
    }
    if !dropped {
        // The usual picture: no copy.
        return bytes.into();
    }
    kept.extend_from_slice(rest);
    kept.into()
}

/// The MNIST recipe on a picture; the error says why it cannot apply.
pub fn digit_from_picture(picture: &RgbImage) -> Result<[u8; IMAGE_PIXELS], String> {
    let background = background_colour(picture);
    let (left, top, right, bottom) = panel(picture, background);
    let panel = image::imageops::crop_imm(picture, left, top, right - left + 1, bottom - top + 1)
        .to_image();
    let ink = ink_strength(&panel, background);
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

/// Colours closer than this (Euclidean distance in RGB, 0..441) to the
/// background count as background.
const BACKGROUND_TOLERANCE: f64 = 48.0;
/// A frame or caption whose colour is at least this far from the ink's is
/// not ink, whatever its shape.
const DISTINCT_COLOURS: f64 = 96.0;
/// Ink weaker than this share of the strongest is noise (paper grain, JPEG
/// ringing) and becomes background.
const NOISE_FLOOR: f64 = 0.15;

/// A colour as three channel values 0..255.
type Colour = [f64; 3];

fn colour(pixel: &Rgb<u8>) -> Colour {
    pixel.0.map(f64::from)
}

fn distance(a: Colour, b: Colour) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&a, b)| (a - b).powi(2))
        .sum::<f64>()
        .sqrt()
}

/// The mean colour of `pixels`, if there are any.
fn mean_colour<'a>(pixels: impl Iterator<Item = &'a Rgb<u8>>) -> Option<Colour> {
    let (sum, count) = pixels.fold(([0.0; 3], 0.0), |(sum, count), pixel| {
        let c = colour(pixel);
        ([sum[0] + c[0], sum[1] + c[1], sum[2] + c[2]], count + 1.0)
    });
    (count > 0.0).then(|| sum.map(|s| s / count))
}

/// The most common colour (in bins of 8 levels per channel, the mean of the
/// fullest bin's pixels): the paper, or the plot's background.
fn background_colour(picture: &RgbImage) -> Colour {
    let bin = |p: &Rgb<u8>| {
        p.0.iter()
            .fold(0usize, |bin, &c| bin * 32 + usize::from(c / 8))
    };
    let mut counts = vec![0u32; 32 * 32 * 32];
    for pixel in picture.pixels() {
        counts[bin(pixel)] += 1;
    }
    let fullest = (0..counts.len()).max_by_key(|&b| counts[b]).unwrap_or(0);
    mean_colour(picture.pixels().filter(|p| bin(p) == fullest)).unwrap_or_default()
}

/// The part of the picture holding the digit, `(left, top, right, bottom)`
/// inclusive: the bounding box of the background, when what lies outside it
/// is a frame (it surrounds the background on all four sides) or a caption
/// or border of another colour than the ink; else the whole picture (a digit
/// cropped tightly, its strokes touching the edges).
fn panel(picture: &RgbImage, background: Colour) -> (u32, u32, u32, u32) {
    let (width, height) = picture.dimensions();
    let whole = (0, 0, width - 1, height - 1);
    let is_background = |p: &Rgb<u8>| distance(colour(p), background) < BACKGROUND_TOLERANCE;
    let Some(inner) = bounds(picture, is_background) else {
        return whole;
    };
    let (left, top, right, bottom) = inner;
    if [left > 0, top > 0, right < width - 1, bottom < height - 1] == [true; 4] {
        return inner;
    }
    let inside = |x: u32, y: u32| (left..=right).contains(&x) && (top..=bottom).contains(&y);
    let pixels = || picture.enumerate_pixels();
    let ink = mean_colour(
        pixels()
            .filter(|&(x, y, p)| inside(x, y) && !is_background(p))
            .map(|(_, _, p)| p),
    );
    let outside = mean_colour(
        pixels()
            .filter(|&(x, y, _)| !inside(x, y))
            .map(|(_, _, p)| p),
    );
    match (ink, outside) {
        (Some(ink), Some(outside)) if distance(ink, outside) >= DISTINCT_COLOURS => inner,
        _ => whole,
    }
}

/// Bounding box `(left, top, right, bottom)` of the pixels that `keep`, if any.
fn bounds<P: image::Pixel>(
    picture: &image::ImageBuffer<P, Vec<P::Subpixel>>,
    keep: impl Fn(&P) -> bool,
) -> Option<(u32, u32, u32, u32)> {
    picture
        .enumerate_pixels()
        .filter(|(_, _, p)| keep(p))
        .fold(None, |bounds, (x, y, _)| {
            Some(match bounds {
                None => (x, y, x, y),
                Some((l, t, r, b)) => (l.min(x), t.min(y), r.max(x), b.max(y)),
            })
        })
}

/// Each pixel's distance from the background, the strongest made 255 (white
/// ink on black, as MNIST), noise below [`NOISE_FLOOR`] made 0.
fn ink_strength(panel: &RgbImage, background: Colour) -> GrayImage {
    let distances: Vec<f64> = panel
        .pixels()
        .map(|p| distance(colour(p), background))
        .collect();
    let strongest = distances.iter().copied().fold(0.0, f64::max).max(1.0);
    let ink = distances
        .iter()
        .map(|d| {
            let share = d / strongest;
            if share < NOISE_FLOOR {
                0
            } else {
                (share * 255.0).round() as u8
            }
        })
        .collect();
    GrayImage::from_raw(panel.width(), panel.height(), ink)
        .expect("one value per pixel of the panel")
}

/// Inclusive bounding box `(left, top, right, bottom)` of the ink, if any.
fn ink_bounds(image: &GrayImage) -> Option<(u32, u32, u32, u32)> {
    bounds(image, |p| p.0[0] > INK_THRESHOLD)
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

    /// `png` with a chunk of `kind` holding `data` after its IHDR.
    fn with_chunk(png: &[u8], kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let after_header = 8 + 12 + 13;
        let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
        chunk.extend_from_slice(kind);
        chunk.extend_from_slice(data);
        let mut crc = flate2::Crc::new();
        crc.update(&chunk[4..]);
        chunk.extend_from_slice(&crc.sum().to_be_bytes());
        [&png[..after_header], &chunk, &png[after_header..]].concat()
    }

    /// Bug: a 28x28 PNG whose ICC profile inflates to hundreds of MB made
    /// the decoder hold them. The profile is dropped before decoding.
    #[test]
    fn a_colour_profile_is_dropped_unread() {
        let mut png = Vec::new();
        picture(56, 56, 255, 0, (20, 10, 30, 45))
            .write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png)
            .unwrap();
        let profile = {
            use std::io::Write;
            let mut encoder = flate2::write::ZlibEncoder::new(
                b"bomb\x00\x00".to_vec(),
                flate2::Compression::best(),
            );
            encoder.write_all(&vec![0; 64 << 20]).unwrap();
            encoder.finish().unwrap()
        };
        let bomb = with_chunk(&png, b"iCCP", &profile);
        assert_eq!(without_colour_profile(&bomb).as_ref(), png.as_slice());
        assert_eq!(
            digit_from_image_bytes(&bomb).unwrap(),
            digit_from_image_bytes(&png).unwrap()
        );
        let text = with_chunk(&png, b"tEXt", b"Comment\x00kept");
        assert_eq!(without_colour_profile(&text).as_ref(), text.as_slice());
        assert_eq!(without_colour_profile(b"GIF89a").as_ref(), b"GIF89a");
    }

    fn picture(
        width: u32,
        height: u32,
        background: u8,
        ink: u8,
        rect: (u32, u32, u32, u32),
    ) -> RgbImage {
        coloured(width, height, [background; 3], [ink; 3], rect)
    }

    fn coloured(
        width: u32,
        height: u32,
        background: [u8; 3],
        ink: [u8; 3],
        (l, t, r, b): (u32, u32, u32, u32),
    ) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| {
            Rgb(if (l..=r).contains(&x) && (t..=b).contains(&y) {
                ink
            } else {
                background
            })
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
        let digit = digit_from_picture(&picture(100, 100, 0, 255, (10, 50, 49, 89))).unwrap();
        assert_eq!(
            bounds_of(&digit),
            (4, 4, 23, 23),
            "20x20 box centred at (14, 14)"
        );
        assert_eq!(digit[14 * IMAGE_SIDE + 14], 255);
        assert_eq!(digit[0], 0);
    }

    #[test]
    fn dark_ink_on_light_paper_reads_as_light_ink_on_dark() {
        let light = digit_from_picture(&picture(60, 60, 250, 5, (20, 20, 39, 39))).unwrap();
        let dark = digit_from_picture(&picture(60, 60, 0, 250, (20, 20, 39, 39))).unwrap();
        assert_eq!(
            light[14 * IMAGE_SIDE + 14],
            255,
            "the strongest ink becomes white"
        );
        assert_eq!(light[0], 0, "the light background becomes black");
        assert_eq!(light, dark);
    }

    #[test]
    fn a_tall_stroke_keeps_its_aspect_ratio() {
        // 10 wide, 40 tall -> 5 wide, 20 tall.
        let digit = digit_from_picture(&picture(80, 80, 0, 255, (30, 20, 39, 59))).unwrap();
        let (left, top, right, bottom) = bounds_of(&digit);
        assert_eq!((right - left + 1, bottom - top + 1), (5, 20));
        assert_eq!((top, bottom), (4, 23));
        assert!((11..=13).contains(&left), "horizontally centred: {left}");
    }

    #[test]
    fn the_centre_of_mass_not_the_box_is_centred() {
        // An L cropped tightly (its strokes touch the edges): a heavy
        // vertical bar and a thin foot; its mass sits left of its box's centre.
        let mut image = picture(40, 40, 0, 255, (0, 0, 4, 39));
        for x in 5..40 {
            for y in 36..40 {
                image.put_pixel(x, y, Rgb([255; 3]));
            }
        }
        let digit = digit_from_picture(&image).unwrap();
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
    fn colour_on_colour_reads_like_white_on_black() {
        let plain = digit_from_picture(&picture(60, 60, 0, 255, (20, 10, 29, 49))).unwrap();
        // Viridis: a yellow stroke on dark purple, as `trainer show` draws.
        let viridis = coloured(60, 60, [68, 1, 84], [253, 231, 37], (20, 10, 29, 49));
        assert_eq!(digit_from_picture(&viridis).unwrap(), plain);
        // A dark blue stroke on light yellow paper.
        let paper = coloured(60, 60, [250, 240, 190], [20, 30, 120], (20, 10, 29, 49));
        assert_eq!(digit_from_picture(&paper).unwrap(), plain);
    }

    /// A stroke on a purple panel inside a white frame with a caption band
    /// below (black text on white), as `trainer show` writes its pictures.
    fn captioned() -> RgbImage {
        let mut image = coloured(80, 100, [255; 3], [68, 1, 84], (5, 5, 74, 74));
        for (x, y) in (30..40).flat_map(|x| (20..60).map(move |y| (x, y))) {
            image.put_pixel(x, y, Rgb([253, 231, 37]));
        }
        for (x, y) in (10..70)
            .step_by(3)
            .flat_map(|x| (82..92).map(move |y| (x, y)))
        {
            image.put_pixel(x, y, Rgb([0; 3]));
        }
        image
    }

    #[test]
    fn frames_and_captions_are_not_ink() {
        let plain = digit_from_picture(&picture(70, 70, 0, 255, (25, 15, 34, 54))).unwrap();
        assert_eq!(digit_from_picture(&captioned()).unwrap(), plain);
        // A frame of the ink's own colour around the whole background is a frame too.
        let mut framed = picture(70, 70, 255, 0, (25, 15, 34, 54));
        for i in 0..70 {
            for (x, y) in [(i, 0), (i, 69), (0, i), (69, i), (i, 1), (1, i)] {
                framed.put_pixel(x, y, Rgb([0; 3]));
            }
        }
        assert_eq!(digit_from_picture(&framed).unwrap(), plain);
    }

    #[test]
    fn a_blank_picture_is_refused() {
        let err = digit_from_picture(&picture(30, 30, 255, 255, (0, 0, 0, 0))).unwrap_err();
        assert!(err.contains("no ink"), "{err}");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// A small valid PNG and JPEG of a digit-like bar.
    fn pictures() -> [Vec<u8>; 2] {
        let picture = RgbImage::from_fn(40, 40, |x, _| {
            Rgb(if (15..25).contains(&x) {
                [0; 3]
            } else {
                [255; 3]
            })
        });
        [ImageFormat::Png, ImageFormat::Jpeg].map(|format| {
            let mut bytes = Vec::new();
            picture
                .write_to(&mut std::io::Cursor::new(&mut bytes), format)
                .unwrap();
            bytes
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever the bytes, the decoder answers with a digit or a reason.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = digit_from_image_bytes(&bytes);
        }

        /// Valid pictures with bytes overwritten or cut anywhere (headers,
        /// chunk lengths, compressed data) are read or refused, never a panic.
        #[test]
        fn damaged_pictures_never_panic(
            jpeg in any::<bool>(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = pictures()[usize::from(jpeg)].clone();
            for (at, value) in edits {
                let at = at.index(bytes.len());
                bytes[at] = value;
            }
            let _ = digit_from_image_bytes(&bytes);
            bytes.truncate(cut.index(bytes.len()) + 1);
            let _ = digit_from_image_bytes(&bytes);
        }
    }
}
