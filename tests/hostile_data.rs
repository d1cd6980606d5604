use std::io::Write;
#[test]
fn timing() {
    let zeros = vec![0u8; 1 << 20];
    for (name, f) in [
        (
            "gzip",
            Box::new(|| {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                for _ in 0..512 {
                    e.write_all(&zeros).unwrap();
                }
                e.finish().unwrap().len()
            }) as Box<dyn Fn() -> usize>,
        ),
        (
            "bz2",
            Box::new(|| {
                let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::best());
                for _ in 0..512 {
                    e.write_all(&zeros).unwrap();
                }
                e.finish().unwrap().len()
            }),
        ),
        (
            "zstd",
            Box::new(|| {
                let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
                for _ in 0..512 {
                    e.write_all(&zeros).unwrap();
                }
                e.finish().unwrap().len()
            }),
        ),
    ] {
        let t = std::time::Instant::now();
        let n = f();
        eprintln!("{name}: {n} bytes in {:?}", t.elapsed());
    }
}
