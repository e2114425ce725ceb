;; SHA-256's block function (FIPS 180-4), for src/session/digest.ts: hashing the entry module
;; and signing the log's header without loading node:crypto into every recorded process.
;; Assembled by `node scripts/sha256-wasm.mjs` into src/session/sha256-wasm.ts (a test checks
;; the two agree). Memory layout: W[64] at 0, K[64] at 256 (written by digest.ts), H[8] at 512,
;; input blocks from 1024. `blocks(p, n)` folds n 64-byte blocks at p into H. The assembler
;; (scripts/sha256-wasm.mjs) exports copies of it, blocks0 to blocks7, which digest.ts spreads
;; the blocks over: V8 counts each function's work apart (Node 20 tiers one up at ~27 blocks).
(module
  (memory (export "memory") 2)
  (func $be (param $x i32) (result i32)
    (i32.or
      (i32.and (i32.rotl (local.get $x) (i32.const 8)) (i32.const 0x00ff00ff))
      (i32.and (i32.rotr (local.get $x) (i32.const 8)) (i32.const 0xff00ff00))))
  (func (export "blocks") (param $p i32) (param $n i32)
    (local $i i32) (local $x i32) (local $y i32) (local $t1 i32) (local $t2 i32)
    (local $a i32) (local $b i32) (local $c i32) (local $d i32)
    (local $e i32) (local $f i32) (local $g i32) (local $h i32)
    (block $done
      (loop $block
        (br_if $done (i32.eqz (local.get $n)))
        ;; W[0..15]: the block's words, big-endian
        (local.set $i (i32.const 0))
        (loop $load
          (i32.store
            (i32.shl (local.get $i) (i32.const 2))
            (call $be (i32.load (i32.add (local.get $p) (i32.shl (local.get $i) (i32.const 2))))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $load (i32.lt_u (local.get $i) (i32.const 16))))
        ;; W[16..63]
        (loop $schedule
          (local.set $x (i32.load (i32.shl (i32.sub (local.get $i) (i32.const 15)) (i32.const 2))))
          (local.set $y (i32.load (i32.shl (i32.sub (local.get $i) (i32.const 2)) (i32.const 2))))
          (i32.store
            (i32.shl (local.get $i) (i32.const 2))
            (i32.add
              (i32.add
                (i32.load (i32.shl (i32.sub (local.get $i) (i32.const 16)) (i32.const 2)))
                (i32.xor
                  (i32.xor (i32.rotr (local.get $x) (i32.const 7)) (i32.rotr (local.get $x) (i32.const 18)))
                  (i32.shr_u (local.get $x) (i32.const 3))))
              (i32.add
                (i32.load (i32.shl (i32.sub (local.get $i) (i32.const 7)) (i32.const 2)))
                (i32.xor
                  (i32.xor (i32.rotr (local.get $y) (i32.const 17)) (i32.rotr (local.get $y) (i32.const 19)))
                  (i32.shr_u (local.get $y) (i32.const 10))))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $schedule (i32.lt_u (local.get $i) (i32.const 64))))
        (local.set $a (i32.load (i32.const 512)))
        (local.set $b (i32.load (i32.const 516)))
        (local.set $c (i32.load (i32.const 520)))
        (local.set $d (i32.load (i32.const 524)))
        (local.set $e (i32.load (i32.const 528)))
        (local.set $f (i32.load (i32.const 532)))
        (local.set $g (i32.load (i32.const 536)))
        (local.set $h (i32.load (i32.const 540)))
        (local.set $i (i32.const 0))
        (loop $round
          ;; t1 = h + Σ1(e) + Ch(e, f, g) + K[i] + W[i]
          (local.set $t1
            (i32.add
              (i32.add
                (local.get $h)
                (i32.xor
                  (i32.xor (i32.rotr (local.get $e) (i32.const 6)) (i32.rotr (local.get $e) (i32.const 11)))
                  (i32.rotr (local.get $e) (i32.const 25))))
              (i32.add
                (i32.xor
                  (i32.and (local.get $e) (local.get $f))
                  (i32.and (i32.xor (local.get $e) (i32.const -1)) (local.get $g)))
                (i32.add
                  (i32.load offset=256 (i32.shl (local.get $i) (i32.const 2)))
                  (i32.load (i32.shl (local.get $i) (i32.const 2)))))))
          ;; t2 = Σ0(a) + Maj(a, b, c)
          (local.set $t2
            (i32.add
              (i32.xor
                (i32.xor (i32.rotr (local.get $a) (i32.const 2)) (i32.rotr (local.get $a) (i32.const 13)))
                (i32.rotr (local.get $a) (i32.const 22)))
              (i32.xor
                (i32.xor (i32.and (local.get $a) (local.get $b)) (i32.and (local.get $a) (local.get $c)))
                (i32.and (local.get $b) (local.get $c)))))
          (local.set $h (local.get $g))
          (local.set $g (local.get $f))
          (local.set $f (local.get $e))
          (local.set $e (i32.add (local.get $d) (local.get $t1)))
          (local.set $d (local.get $c))
          (local.set $c (local.get $b))
          (local.set $b (local.get $a))
          (local.set $a (i32.add (local.get $t1) (local.get $t2)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $round (i32.lt_u (local.get $i) (i32.const 64))))
        (i32.store (i32.const 512) (i32.add (i32.load (i32.const 512)) (local.get $a)))
        (i32.store (i32.const 516) (i32.add (i32.load (i32.const 516)) (local.get $b)))
        (i32.store (i32.const 520) (i32.add (i32.load (i32.const 520)) (local.get $c)))
        (i32.store (i32.const 524) (i32.add (i32.load (i32.const 524)) (local.get $d)))
        (i32.store (i32.const 528) (i32.add (i32.load (i32.const 528)) (local.get $e)))
        (i32.store (i32.const 532) (i32.add (i32.load (i32.const 532)) (local.get $f)))
        (i32.store (i32.const 536) (i32.add (i32.load (i32.const 536)) (local.get $g)))
        (i32.store (i32.const 540) (i32.add (i32.load (i32.const 540)) (local.get $h)))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $block)))))
