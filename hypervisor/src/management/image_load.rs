//! One image arriving through the management interface: `LoadBegin` says
//! its size and the SHA-256 it must have, `LoadChunk`s bring its bytes in
//! order, `LoadEnd` compares the hash of what came with the expected one
//! (measured launch). This is the bookkeeping; where the bytes go is the
//! caller's (`vm::images`).

use core::ops::Range;

use cordon_abi::{Digest, ErrorCode, ImageHasher, ImageSlot};

/// A load in progress.
pub struct ImageLoad {
    image: ImageSlot,
    size: u64,
    expected: Digest,
    received: u64,
    hasher: ImageHasher,
}

/// How a finished load ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LoadOutcome {
    /// The bytes hash to the expected SHA-256.
    Verified { size: u64, sha256: Digest },
    /// They do not: the image must not be used.
    Mismatch { expected: Digest, actual: Digest },
}

impl ImageLoad {
    /// A load of `size` bytes of `image` (the caller checked that size is
    /// not 0 and that the image fits).
    pub fn begin(image: ImageSlot, size: u64, expected: Digest) -> Self {
        Self {
            image,
            size,
            expected,
            received: 0,
            hasher: ImageHasher::new(),
        }
    }

    pub fn image(&self) -> ImageSlot {
        self.image
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Bytes received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// Takes `chunk`, which the client sent for `image` at `offset`: it must
    /// be the next bytes of this load (`WrongState`) and stay within its
    /// size (`TooLarge`). Returns where in the image the chunk goes; the
    /// caller copies it there.
    pub fn accept(
        &mut self,
        image: ImageSlot,
        offset: u64,
        chunk: &[u8],
    ) -> Result<Range<u64>, ErrorCode> {
        if image != self.image || offset != self.received {
            return Err(ErrorCode::WrongState);
        }
        let end = offset
            .checked_add(chunk.len() as u64)
            .filter(|&end| end <= self.size)
            .ok_or(ErrorCode::TooLarge)?;
        self.hasher.update(chunk);
        self.received = end;
        Ok(offset..end)
    }

    /// Whether `LoadEnd` for `image` may finish this load: all of it came.
    pub fn check_complete(&self, image: ImageSlot) -> Result<(), ErrorCode> {
        if image == self.image && self.received == self.size {
            Ok(())
        } else {
            Err(ErrorCode::WrongState)
        }
    }

    /// Finishes the hash (after [`Self::check_complete`]).
    pub fn finish(self) -> LoadOutcome {
        let actual = self.hasher.finish();
        if actual == self.expected {
            LoadOutcome::Verified {
                size: self.size,
                sha256: actual,
            }
        } else {
            LoadOutcome::Mismatch {
                expected: self.expected,
                actual,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGE: &[u8] = b"an image of 31 bytes, in chunks";

    fn sha256(bytes: &[u8]) -> Digest {
        let mut hasher = ImageHasher::new();
        hasher.update(bytes);
        hasher.finish()
    }

    fn load() -> ImageLoad {
        ImageLoad::begin(ImageSlot::Kernel, IMAGE.len() as u64, sha256(IMAGE))
    }

    #[test]
    fn chunks_in_order_verify() {
        let mut load = load();
        assert_eq!(load.accept(ImageSlot::Kernel, 0, &IMAGE[..10]), Ok(0..10));
        assert_eq!(
            load.check_complete(ImageSlot::Kernel),
            Err(ErrorCode::WrongState)
        );
        assert_eq!(load.accept(ImageSlot::Kernel, 10, &IMAGE[10..]), Ok(10..31));
        assert_eq!(load.received(), 31);
        assert_eq!(load.check_complete(ImageSlot::Kernel), Ok(()));
        assert_eq!(
            load.finish(),
            LoadOutcome::Verified {
                size: 31,
                sha256: sha256(IMAGE)
            }
        );
    }

    #[test]
    fn chunks_out_of_order_or_for_another_image_are_refused_and_change_nothing() {
        let mut load = load();
        load.accept(ImageSlot::Kernel, 0, &IMAGE[..10]).unwrap();
        for (image, offset) in [
            (ImageSlot::Kernel, 0),
            (ImageSlot::Kernel, 11),
            (ImageSlot::Initrd, 10),
        ] {
            assert_eq!(
                load.accept(image, offset, &IMAGE[10..]),
                Err(ErrorCode::WrongState)
            );
        }
        assert_eq!(load.received(), 10);
        assert_eq!(
            load.check_complete(ImageSlot::Initrd),
            Err(ErrorCode::WrongState)
        );
        load.accept(ImageSlot::Kernel, 10, &IMAGE[10..]).unwrap();
        assert!(matches!(load.finish(), LoadOutcome::Verified { .. }));
    }

    #[test]
    fn a_chunk_past_the_size_is_too_large() {
        let mut load = load();
        let mut longer = IMAGE.to_vec();
        longer.push(b'!');
        assert_eq!(
            load.accept(ImageSlot::Kernel, 0, &longer),
            Err(ErrorCode::TooLarge)
        );
        assert_eq!(load.received(), 0);
    }

    #[test]
    fn other_bytes_do_not_verify() {
        let mut load = load();
        let mut tampered = IMAGE.to_vec();
        tampered[3] ^= 1;
        load.accept(ImageSlot::Kernel, 0, &tampered).unwrap();
        assert_eq!(
            load.finish(),
            LoadOutcome::Mismatch {
                expected: sha256(IMAGE),
                actual: sha256(&tampered)
            }
        );
    }
}
