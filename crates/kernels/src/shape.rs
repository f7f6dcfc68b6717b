//! The geometry of the layers the kernels compute: NCHW float32 tensors, a
//! convolution with zero padding, a max-pool whose stride is its window
//! (Keras's `MaxPooling2D` default, floor mode).

/// A dilation-1, single-group 2-D convolution of `[batch, channels, height,
/// width]` inputs with `[filters, channels, kernel[0], kernel[1]]` weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    /// Images in the batch.
    pub batch: usize,
    /// Input channels.
    pub channels: usize,
    /// Input rows.
    pub height: usize,
    /// Input columns.
    pub width: usize,
    /// Output channels.
    pub filters: usize,
    /// Kernel rows and columns.
    pub kernel: [usize; 2],
    /// Zeros added on each side of the rows and of the columns.
    pub padding: [usize; 2],
    /// Steps between windows along the rows and the columns (the direct
    /// kernels take 1 only).
    pub stride: [usize; 2],
}

impl ConvShape {
    /// Rows and columns of the zero-padded input.
    pub fn padded(&self) -> [usize; 2] {
        [
            self.height + 2 * self.padding[0],
            self.width + 2 * self.padding[1],
        ]
    }

    /// Rows and columns of the output (floor of what fits, as Burn and Keras).
    pub fn output(&self) -> [usize; 2] {
        let [rows, cols] = self.padded();
        [
            (rows - self.kernel[0]) / self.stride[0] + 1,
            (cols - self.kernel[1]) / self.stride[1] + 1,
        ]
    }

    /// Output positions of one image: rows times columns.
    pub fn positions(&self) -> usize {
        let [rows, cols] = self.output();
        rows * cols
    }

    /// Whether the kernel fits in the padded input and no size is zero.
    pub fn is_valid(&self) -> bool {
        let [rows, cols] = self.padded();
        [
            self.batch,
            self.channels,
            self.height,
            self.width,
            self.filters,
            self.kernel[0],
            self.kernel[1],
            self.stride[0],
            self.stride[1],
        ]
        .iter()
        .all(|&n| n > 0)
            && self.kernel[0] <= rows
            && self.kernel[1] <= cols
    }

    /// Weights of one filter: `channels * kernel rows * kernel columns`.
    pub fn taps(&self) -> usize {
        self.channels * self.kernel[0] * self.kernel[1]
    }
}

/// A pool over `[batch, channels, height, width]` with a `window[0] x
/// window[1]` window moved by `stride` (the max-pool's: its window); rows
/// and columns left over at the bottom and right are dropped (floor mode,
/// Keras's `padding="valid"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolShape {
    /// Images times channels: the planes pooled independently.
    pub planes: usize,
    /// Input rows.
    pub height: usize,
    /// Input columns.
    pub width: usize,
    /// Window rows and columns.
    pub window: [usize; 2],
    /// Rows and columns the window moves by.
    pub stride: [usize; 2],
}

impl PoolShape {
    /// Rows and columns of the output (of a valid shape).
    pub fn output(&self) -> [usize; 2] {
        [
            (self.height - self.window[0]) / self.stride[0] + 1,
            (self.width - self.window[1]) / self.stride[1] + 1,
        ]
    }

    /// Whether the window fits and no size is zero.
    pub fn is_valid(&self) -> bool {
        self.planes > 0
            && self.window[0] > 0
            && self.window[1] > 0
            && self.stride[0] > 0
            && self.stride[1] > 0
            && self.window[0] <= self.height
            && self.window[1] <= self.width
    }
}

/// The notebook's convolution at its training batch of 32, for tests.
#[cfg(test)]
pub(crate) fn notebook() -> ConvShape {
    ConvShape {
        batch: 32,
        channels: 1,
        height: 28,
        width: 28,
        filters: 8,
        kernel: [3, 3],
        padding: [0, 0],
        stride: [1, 1],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notebooks_convolution_makes_26x26_maps() {
        let shape = notebook();
        assert!(shape.is_valid());
        assert_eq!(shape.output(), [26, 26]);
        assert_eq!(shape.taps(), 9);
        let pool = PoolShape {
            planes: 32 * 8,
            height: 26,
            width: 26,
            window: [2, 2],
            stride: [2, 2],
        };
        assert_eq!(pool.output(), [13, 13]);
        let overlapping = PoolShape {
            window: [3, 3],
            stride: [2, 1],
            ..pool
        };
        assert_eq!(overlapping.output(), [12, 24]);
    }

    #[test]
    fn same_padding_keeps_the_size() {
        let shape = ConvShape {
            padding: [1, 1],
            ..notebook()
        };
        assert_eq!(shape.padded(), [30, 30]);
        assert_eq!(shape.output(), [28, 28]);
        let strided = ConvShape {
            stride: [2, 3],
            ..shape
        };
        assert_eq!(strided.output(), [14, 10]);
    }

    #[test]
    fn impossible_shapes_are_invalid() {
        assert!(
            !ConvShape {
                kernel: [29, 3],
                ..notebook()
            }
            .is_valid()
        );
        assert!(
            !ConvShape {
                filters: 0,
                ..notebook()
            }
            .is_valid()
        );
        let pool = PoolShape {
            planes: 1,
            height: 3,
            width: 5,
            window: [4, 2],
            stride: [4, 2],
        };
        assert!(!pool.is_valid());
        assert_eq!(
            PoolShape {
                window: [2, 2],
                ..pool
            }
            .output(),
            [1, 2]
        );
    }
}
