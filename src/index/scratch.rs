//! Scratch memory for the batched multi-index search: tens to hundreds of MiB of `u32`
//! written at random, kept by each thread from batch to batch.
//!
//! It is an anonymous map with transparent huge pages asked for: a 4 KiB page costs a fault
//! (and, on a virtual machine, an exit) the first time it is written, and the thousands of
//! regions written at once would each need their own TLB entry. With 2 MiB pages both costs
//! shrink 512-fold. Where the map or the advice is refused, a vector does the same job.

/// Zeroed `u32` words, at least as many as asked for.
pub(super) enum Scratch {
    Map(memmap2::MmapMut),
    Vec(Vec<u32>),
}

impl Scratch {
    /// `words` zeroed words.
    pub(super) fn new(words: usize) -> Scratch {
        match memmap2::MmapOptions::new().len(4 * words.max(1)).map_anon() {
            // A map is page-aligned, so its bytes are always `u32`s; checked all the same.
            Ok(map) if bytemuck::try_cast_slice::<u8, u32>(&map[..]).is_ok() => {
                #[cfg(target_os = "linux")]
                let _ = map.advise(memmap2::Advice::HugePage);
                Scratch::Map(map)
            }
            _ => Scratch::Vec(vec![0; words]),
        }
    }

    /// The words.
    pub(super) fn words(&mut self) -> &mut [u32] {
        match self {
            Scratch::Map(map) => bytemuck::try_cast_slice_mut(&mut map[..]).unwrap_or_default(),
            Scratch::Vec(v) => v,
        }
    }

    /// Number of words.
    pub(super) fn len(&self) -> usize {
        match self {
            Scratch::Map(map) => map.len() / 4,
            Scratch::Vec(v) => v.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_is_zeroed_and_writable() {
        let mut s = Scratch::new(1 << 20);
        assert_eq!(s.len(), 1 << 20);
        let w = s.words();
        assert_eq!(w.len(), 1 << 20);
        assert!(w.iter().all(|&x| x == 0));
        w[12345] = 7;
        assert_eq!(s.words()[12345], 7);
    }
}
