//! The app icons, drawn at start-up (no image files in the repository): a white "H" on the
//! program's blue, as PNG at the sizes home screens ask for, and as SVG.
use std::sync::OnceLock;

const BLUE: [u8; 3] = [0x0b, 0x4f, 0x8a];
const WHITE: [u8; 3] = [0xff, 0xff, 0xff];

/// Whether pixel (x, y) of a `size`-pixel square belongs to the "H". The letter keeps inside
/// the middle 60%, so "maskable" crops leave it whole.
fn in_h(x: u32, y: u32, size: u32) -> bool {
    let (fx, fy) = (
        f64::from(x) / f64::from(size),
        f64::from(y) / f64::from(size),
    );
    let inside = (0.28..0.72).contains(&fy);
    let left = (0.30..0.40).contains(&fx);
    let right = (0.60..0.70).contains(&fx);
    let bar = (0.40..0.60).contains(&fx) && (0.455..0.545).contains(&fy);
    inside && (left || right) || bar
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for x in bytes {
        a = (a + u32::from(*x)) % 65_521;
        b = (b + a) % 65_521;
    }
    (b << 16) | a
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).expect("small").to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// An RGB PNG of the icon, `size` pixels square (zlib with stored blocks: no compressor
/// needed, and these are small).
pub fn png(size: u32) -> Vec<u8> {
    let mut raw = Vec::with_capacity((size * (size * 3 + 1)) as usize);
    for y in 0..size {
        raw.push(0); // filter: none
        for x in 0..size {
            raw.extend_from_slice(if in_h(x, y, size) { &WHITE } else { &BLUE });
        }
    }
    let mut z = vec![0x78, 0x01];
    let mut blocks = raw.chunks(65_535).peekable();
    while let Some(block) = blocks.next() {
        z.push(u8::from(blocks.peek().is_none()));
        let len = u16::try_from(block.len()).expect("at most 65,535");
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(block);
    }
    z.extend_from_slice(&adler32(&raw).to_be_bytes());

    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&size.to_be_bytes());
    ihdr.extend_from_slice(&size.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, RGB
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// The icons served, drawn once.
pub fn cached(size: u32) -> Option<&'static [u8]> {
    static ICONS: OnceLock<[(u32, Vec<u8>); 3]> = OnceLock::new();
    let icons = ICONS.get_or_init(|| [(180, png(180)), (192, png(192)), (512, png(512))]);
    icons
        .iter()
        .find(|(s, _)| *s == size)
        .map(|(_, b)| b.as_slice())
}

pub const SVG: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><rect width="100" height="100" fill="#0b4f8a"/><path fill="#fff" d="M30 28h10v17.5h20V28h10v44H60V54.5H40V72H30z"/></svg>"##;

#[cfg(test)]
mod tests {
    #[test]
    fn png_has_the_right_header_and_checksums() {
        let p = super::png(16);
        assert_eq!(&p[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&p[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(p[16..20].try_into().unwrap()), 16);
        assert_eq!(
            super::crc32(b"IEND"),
            0xAE42_6082,
            "the well-known CRC of an empty IEND"
        );
        assert!(p.ends_with(&[0xAE, 0x42, 0x60, 0x82]));
    }
}
