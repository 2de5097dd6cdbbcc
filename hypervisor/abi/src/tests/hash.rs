use std::string::ToString;

use crate::ImageHasher;

#[test]
fn hashes_in_pieces_as_in_one() {
    let mut whole = ImageHasher::new();
    whole.update(b"abc");
    let digest = whole.finish();
    assert_eq!(
        digest.to_string(),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let mut pieces = ImageHasher::new();
    pieces.update(b"a");
    pieces.update(b"");
    pieces.update(b"bc");
    assert_eq!(pieces.finish(), digest);
}
