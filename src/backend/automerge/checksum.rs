//! FNV-1a: a checksum over the encodings this backend writes and sends, so that damage which
//! still decodes is caught.

/// The 64-bit FNV-1a hash of `bytes`. A change to any one byte always changes it: each step is
/// a bijection of the state.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash: u64, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The 32-bit FNV-1a hash of `bytes`, for records where four bytes are plenty.
pub(crate) fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |hash: u32, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}
