//! The `decode_frames` fuzz property (see `fuzz/`), run deterministically on stable over a
//! seeded corpus of 20 000 random, mutated, truncated and concatenated frames.

#[path = "common/property.rs"]
mod property;
#[path = "common/samples.rs"]
mod samples;
#[path = "common/strategies.rs"]
mod strategies;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use wattevo_proto::encode_frame;

const CORPUS_SIZE: usize = 20_000;
const SEED: u64 = 0x5eed_2401_1773;

/// SplitMix64: a small, explicit, seeded generator for the mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// Valid frames: the fixed examples plus 400 arbitrary messages from the proptest strategies.
fn valid_frames() -> Vec<Vec<u8>> {
    let mut frames: Vec<Vec<u8>> = samples::host_messages().iter().map(|e| encode_frame(e).expect("encode")).collect();
    frames.extend(samples::device_messages().iter().map(|e| encode_frame(e).expect("encode")));
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &SEED.to_le_bytes().repeat(4));
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let host = strategies::envelope(strategies::host_to_device());
    let device = strategies::envelope(strategies::device_to_host());
    for _ in 0..200 {
        frames.push(encode_frame(&host.new_tree(&mut runner).expect("value").current()).expect("encode"));
        frames.push(encode_frame(&device.new_tree(&mut runner).expect("value").current()).expect("encode"));
    }
    frames
}

fn random_bytes(rng: &mut Rng, max_len: usize) -> Vec<u8> {
    (0..rng.below(max_len)).map(|_| if rng.below(10) == 0 { 0 } else { rng.byte() }).collect()
}

fn mutate(rng: &mut Rng, frame: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(frame.len());
        match rng.below(5) {
            0 if !frame.is_empty() => frame[at] ^= 1 << rng.below(8),
            1 if !frame.is_empty() => frame[at] = rng.byte(),
            2 => frame.insert(at, rng.byte()),
            3 if !frame.is_empty() => {
                frame.remove(at);
            }
            _ => frame.truncate(at),
        }
    }
}

/// One corpus entry: pure noise, a mutated frame, or several frames and noise run together.
fn corpus_entry(rng: &mut Rng, frames: &[Vec<u8>], index: usize) -> Vec<u8> {
    let pick = |rng: &mut Rng| frames[rng.below(frames.len())].clone();
    match index % 4 {
        0 => random_bytes(rng, 300),
        1 => {
            let mut frame = pick(rng);
            mutate(rng, &mut frame);
            frame
        }
        2 => {
            let mut stream = Vec::new();
            for _ in 0..2 + rng.below(3) {
                let junk = random_bytes(rng, 20);
                if !junk.is_empty() {
                    stream.extend(junk);
                    stream.push(0); // noise ends at a delimiter, like a frame lost in transit
                }
                let mut frame = pick(rng);
                if rng.below(2) == 0 {
                    mutate(rng, &mut frame);
                }
                stream.extend(frame);
            }
            stream
        }
        _ => {
            let mut stream = pick(rng);
            let cut = rng.below(stream.len());
            stream.truncate(cut);
            stream.push(0); // a frame whose tail was lost, then a whole one
            stream.extend(pick(rng));
            stream
        }
    }
}

#[test]
fn decoder_property_holds_on_a_seeded_corpus() {
    let frames = valid_frames();
    let mut rng = Rng(SEED);
    let mut decoded = property::Decoded::default();
    for index in 0..CORPUS_SIZE {
        let entry = corpus_entry(&mut rng, &frames, index);
        let split = rng.below(entry.len() + 1);
        let found = property::check_stream(&entry, split);
        decoded.host += found.host;
        decoded.device += found.device;
    }
    eprintln!("corpus of {CORPUS_SIZE} streams: {decoded:?} envelopes decoded and re-encoded");
    // A corpus that never decodes anything would test only the error paths.
    assert!(decoded.host > 1000 && decoded.device > 1000, "too few frames decoded: {decoded:?}");
}
