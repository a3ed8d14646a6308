;; The hot loop of gradient boosting in WebAssembly text. `npm run build:wasm` assembles it into
;; src/ml/gbdt-wasm.ts (a test checks that the two agree). WebAssembly because V8's code for the
;; same loop in TypeScript takes 2.5x as long: the (gradient, hessian) pair is one 128-bit SIMD
;; load-add-store here, and there are no bounds checks.
;;
;; All pointers are byte offsets into the memory that the calling thread and the worker threads
;; share. A histogram has, per feature, 256 bins of (sum of gradients, sum of hessians, count)
;; as f64: 24 bytes a bin, 6144 bytes a feature.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; Fills the histograms of features [f0, f1) for the rows at positions [start, end) of `rows`
  ;; (u32). Features are stored by column: the bin (u8) of row r, feature f is at
  ;; binned + f * nRows + r. `grad` and `hess` (f32) are indexed by row; a node's rows are in
  ;; ascending order, so these reads move forward through memory.
  (func (export "histograms")
    (param $binned i32) (param $nRows i32) (param $rows i32) (param $start i32) (param $end i32)
    (param $grad i32) (param $hess i32) (param $hist i32) (param $f0 i32) (param $f1 i32)
    (local $f i32) (local $c0 i32) (local $c1 i32) (local $c2 i32) (local $c3 i32)
    (local $h0 i32) (local $b i32) (local $row i32)
    (local $rp i32) (local $rend i32) (local $gh v128)
    (local.set $rend (i32.add (local.get $rows) (i32.shl (local.get $end) (i32.const 2))))
    (memory.fill
      (i32.add (local.get $hist) (i32.mul (local.get $f0) (i32.const 6144)))
      (i32.const 0)
      (i32.mul (i32.sub (local.get $f1) (local.get $f0)) (i32.const 6144)))
    (local.set $f (local.get $f0))
    ;; Four features a pass: the row, gradient and hessian are loaded once for four updates.
    (block $groups_done
      (loop $groups
        (br_if $groups_done (i32.gt_u (i32.add (local.get $f) (i32.const 4)) (local.get $f1)))
        (local.set $h0 (i32.add (local.get $hist) (i32.mul (local.get $f) (i32.const 6144))))
        (local.set $c0 (i32.add (local.get $binned) (i32.mul (local.get $f) (local.get $nRows))))
        (local.set $c1 (i32.add (local.get $c0) (local.get $nRows)))
        (local.set $c2 (i32.add (local.get $c1) (local.get $nRows)))
        (local.set $c3 (i32.add (local.get $c2) (local.get $nRows)))
        (local.set $rp (i32.add (local.get $rows) (i32.shl (local.get $start) (i32.const 2))))
        (block $rows_done
          (loop $each_row
            (br_if $rows_done (i32.ge_u (local.get $rp) (local.get $rend)))
            (local.set $row (i32.load (local.get $rp)))
            (local.set $gh
              (f64x2.replace_lane 1
                (f64x2.splat
                  (f64.promote_f32 (f32.load (i32.add (local.get $grad) (i32.shl (local.get $row) (i32.const 2))))))
                (f64.promote_f32 (f32.load (i32.add (local.get $hess) (i32.shl (local.get $row) (i32.const 2)))))))
            (local.set $b (i32.add (local.get $h0)
              (i32.mul (i32.load8_u (i32.add (local.get $c0) (local.get $row))) (i32.const 24))))
            (v128.store (local.get $b) (f64x2.add (v128.load (local.get $b)) (local.get $gh)))
            (f64.store offset=16 (local.get $b) (f64.add (f64.load offset=16 (local.get $b)) (f64.const 1)))
            (local.set $b (i32.add (local.get $h0)
              (i32.mul (i32.load8_u (i32.add (local.get $c1) (local.get $row))) (i32.const 24))))
            (v128.store offset=6144 (local.get $b)
              (f64x2.add (v128.load offset=6144 (local.get $b)) (local.get $gh)))
            (f64.store offset=6160 (local.get $b) (f64.add (f64.load offset=6160 (local.get $b)) (f64.const 1)))
            (local.set $b (i32.add (local.get $h0)
              (i32.mul (i32.load8_u (i32.add (local.get $c2) (local.get $row))) (i32.const 24))))
            (v128.store offset=12288 (local.get $b)
              (f64x2.add (v128.load offset=12288 (local.get $b)) (local.get $gh)))
            (f64.store offset=12304 (local.get $b) (f64.add (f64.load offset=12304 (local.get $b)) (f64.const 1)))
            (local.set $b (i32.add (local.get $h0)
              (i32.mul (i32.load8_u (i32.add (local.get $c3) (local.get $row))) (i32.const 24))))
            (v128.store offset=18432 (local.get $b)
              (f64x2.add (v128.load offset=18432 (local.get $b)) (local.get $gh)))
            (f64.store offset=18448 (local.get $b) (f64.add (f64.load offset=18448 (local.get $b)) (f64.const 1)))
            (local.set $rp (i32.add (local.get $rp) (i32.const 4)))
            (br $each_row)))
        (local.set $f (i32.add (local.get $f) (i32.const 4)))
        (br $groups)))
    ;; The remaining features one at a time.
    (block $singles_done
      (loop $singles
        (br_if $singles_done (i32.ge_u (local.get $f) (local.get $f1)))
        (local.set $h0 (i32.add (local.get $hist) (i32.mul (local.get $f) (i32.const 6144))))
        (local.set $c0 (i32.add (local.get $binned) (i32.mul (local.get $f) (local.get $nRows))))
        (local.set $rp (i32.add (local.get $rows) (i32.shl (local.get $start) (i32.const 2))))
        (block $rows_done
          (loop $each_row
            (br_if $rows_done (i32.ge_u (local.get $rp) (local.get $rend)))
            (local.set $row (i32.load (local.get $rp)))
            (local.set $gh
              (f64x2.replace_lane 1
                (f64x2.splat
                  (f64.promote_f32 (f32.load (i32.add (local.get $grad) (i32.shl (local.get $row) (i32.const 2))))))
                (f64.promote_f32 (f32.load (i32.add (local.get $hess) (i32.shl (local.get $row) (i32.const 2)))))))
            (local.set $b (i32.add (local.get $h0)
              (i32.mul (i32.load8_u (i32.add (local.get $c0) (local.get $row))) (i32.const 24))))
            (v128.store (local.get $b) (f64x2.add (v128.load (local.get $b)) (local.get $gh)))
            (f64.store offset=16 (local.get $b) (f64.add (f64.load offset=16 (local.get $b)) (f64.const 1)))
            (local.set $rp (i32.add (local.get $rp) (i32.const 4)))
            (br $each_row)))
        (local.set $f (i32.add (local.get $f) (i32.const 1)))
        (br $singles))))
;; Stable partition of the rows at positions [start, end): rows whose bin of `feature` is
  ;; <= splitBin (or is the missing bin 255 when missingLeft = 1) first, the others after, each
  ;; side in its original order. `scratch` holds the right side meanwhile. Returns the position
  ;; of the first right row. Branch-free: each row is stored to both sides and one cursor moves
  ;; (the side is a coin flip a branch predictor cannot learn).
  (func (export "partition")
    (param $binned i32) (param $nRows i32) (param $rows i32) (param $scratch i32)
    (param $start i32) (param $end i32) (param $feature i32) (param $splitBin i32)
    (param $missingLeft i32) (result i32)
    (local $col i32) (local $p i32) (local $pend i32) (local $l i32) (local $r i32)
    (local $row i32) (local $bin i32) (local $left i32) (local $missingBin i32)
    (local.set $col (i32.add (local.get $binned) (i32.mul (local.get $feature) (local.get $nRows))))
    (local.set $p (i32.add (local.get $rows) (i32.shl (local.get $start) (i32.const 2))))
    (local.set $pend (i32.add (local.get $rows) (i32.shl (local.get $end) (i32.const 2))))
    (local.set $l (local.get $p))
    (local.set $r (local.get $scratch))
    ;; 255 when missing values go left, else a value no bin has.
    (local.set $missingBin (select (i32.const 255) (i32.const -1) (local.get $missingLeft)))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $p) (local.get $pend)))
        (local.set $row (i32.load (local.get $p)))
        (local.set $bin (i32.load8_u (i32.add (local.get $col) (local.get $row))))
        (local.set $left
          (i32.or
            (i32.le_u (local.get $bin) (local.get $splitBin))
            (i32.eq (local.get $bin) (local.get $missingBin))))
        (i32.store (local.get $l) (local.get $row))
        (i32.store (local.get $r) (local.get $row))
        (local.set $l (i32.add (local.get $l) (i32.shl (local.get $left) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.shl (i32.xor (local.get $left) (i32.const 1)) (i32.const 2))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (br $each)))
    (memory.copy (local.get $l) (local.get $scratch) (i32.sub (local.get $r) (local.get $scratch)))
    (i32.shr_u (i32.sub (local.get $l) (local.get $rows)) (i32.const 2)))
;; Adds the trees' leaf values for `n` rows to their scores. `x`: the rows' features, row
  ;; by row (f64, p per row). Nodes are 16 bytes: f64 threshold, i32 feature, i32 index of the
  ;; left child (the right child follows it) with bit 31 set when missing values (NaN) go right.
  ;; A leaf points to itself (threshold +Infinity, feature 0), so every row walks exactly the
  ;; tree's depth (`depths`, i32 per tree) with no exit test, four rows at a time so the CPU
  ;; overlaps their walks. Leaf values are f64 at `values` + 8 * node. Tree t adds to output
  ;; t % outputs of `scores` (f64, row by row). Tree by tree: the tree stays in cache.
  (func (export "predict")
    (param $nodes i32) (param $values i32) (param $roots i32) (param $depths i32) (param $trees i32)
    (param $outputs i32) (param $x i32) (param $n i32) (param $p i32) (param $scores i32)
    (local $t i32) (local $i i32) (local $k i32) (local $root i32) (local $depth i32) (local $d i32)
    (local $score i32) (local $n4 i32)
    (local $n0 i32) (local $n1 i32) (local $n2 i32) (local $n3 i32)
    (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $r3 i32)
    (local $m0 i32) (local $m1 i32) (local $m2 i32) (local $m3 i32)
    (local $x0 f64) (local $x1 f64) (local $x2 f64) (local $x3 f64)
    (local.set $n4 (i32.and (local.get $n) (i32.const -4)))
    (block $trees_done
      (loop $each_tree
        (br_if $trees_done (i32.ge_u (local.get $t) (local.get $trees)))
        (local.set $k (i32.rem_u (local.get $t) (local.get $outputs)))
        (local.set $root (i32.add (local.get $nodes)
          (i32.shl (i32.load (i32.add (local.get $roots) (i32.shl (local.get $t) (i32.const 2)))) (i32.const 4))))
        (local.set $depth (i32.load (i32.add (local.get $depths) (i32.shl (local.get $t) (i32.const 2)))))
        (local.set $i (i32.const 0))
        ;; Four rows at a time.
        (block $quads_done
          (loop $each_quad
            (br_if $quads_done (i32.ge_u (local.get $i) (local.get $n4)))
            (local.set $r0 (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (local.get $i) (i32.const 0)) (local.get $p)) (i32.const 3))))
            (local.set $n0 (local.get $root))
            (local.set $r1 (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (local.get $i) (i32.const 1)) (local.get $p)) (i32.const 3))))
            (local.set $n1 (local.get $root))
            (local.set $r2 (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (local.get $i) (i32.const 2)) (local.get $p)) (i32.const 3))))
            (local.set $n2 (local.get $root))
            (local.set $r3 (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (local.get $i) (i32.const 3)) (local.get $p)) (i32.const 3))))
            (local.set $n3 (local.get $root))
            (local.set $d (local.get $depth))
            (block $walked
              (loop $walk
                (br_if $walked (i32.eqz (local.get $d)))
                (local.set $n0
                  (i32.add (local.get $nodes)
                    (i32.shl
                      (i32.add
                        (i32.and (local.tee $m0 (i32.load offset=12 (local.get $n0))) (i32.const 0x7fffffff))
                        (i32.or
                          (f64.gt
                            (local.tee $x0 (f64.load (i32.add (local.get $r0)
                              (i32.shl (i32.load offset=8 (local.get $n0)) (i32.const 3)))))
                            (f64.load (local.get $n0)))
                          (i32.and (i32.shr_u (local.get $m0) (i32.const 31)) (f64.ne (local.get $x0) (local.get $x0)))))
                      (i32.const 4))))
                (local.set $n1
                  (i32.add (local.get $nodes)
                    (i32.shl
                      (i32.add
                        (i32.and (local.tee $m1 (i32.load offset=12 (local.get $n1))) (i32.const 0x7fffffff))
                        (i32.or
                          (f64.gt
                            (local.tee $x1 (f64.load (i32.add (local.get $r1)
                              (i32.shl (i32.load offset=8 (local.get $n1)) (i32.const 3)))))
                            (f64.load (local.get $n1)))
                          (i32.and (i32.shr_u (local.get $m1) (i32.const 31)) (f64.ne (local.get $x1) (local.get $x1)))))
                      (i32.const 4))))
                (local.set $n2
                  (i32.add (local.get $nodes)
                    (i32.shl
                      (i32.add
                        (i32.and (local.tee $m2 (i32.load offset=12 (local.get $n2))) (i32.const 0x7fffffff))
                        (i32.or
                          (f64.gt
                            (local.tee $x2 (f64.load (i32.add (local.get $r2)
                              (i32.shl (i32.load offset=8 (local.get $n2)) (i32.const 3)))))
                            (f64.load (local.get $n2)))
                          (i32.and (i32.shr_u (local.get $m2) (i32.const 31)) (f64.ne (local.get $x2) (local.get $x2)))))
                      (i32.const 4))))
                (local.set $n3
                  (i32.add (local.get $nodes)
                    (i32.shl
                      (i32.add
                        (i32.and (local.tee $m3 (i32.load offset=12 (local.get $n3))) (i32.const 0x7fffffff))
                        (i32.or
                          (f64.gt
                            (local.tee $x3 (f64.load (i32.add (local.get $r3)
                              (i32.shl (i32.load offset=8 (local.get $n3)) (i32.const 3)))))
                            (f64.load (local.get $n3)))
                          (i32.and (i32.shr_u (local.get $m3) (i32.const 31)) (f64.ne (local.get $x3) (local.get $x3)))))
                      (i32.const 4))))
                (local.set $d (i32.sub (local.get $d) (i32.const 1)))
                (br $walk)))
            (local.set $score (i32.add (local.get $scores)
              (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 0)) (local.get $outputs)) (local.get $k)) (i32.const 3))))
            (f64.store (local.get $score) (f64.add (f64.load (local.get $score))
              (f64.load (i32.add (local.get $values) (i32.shr_u (i32.sub (local.get $n0) (local.get $nodes)) (i32.const 1))))))
            (local.set $score (i32.add (local.get $scores)
              (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 1)) (local.get $outputs)) (local.get $k)) (i32.const 3))))
            (f64.store (local.get $score) (f64.add (f64.load (local.get $score))
              (f64.load (i32.add (local.get $values) (i32.shr_u (i32.sub (local.get $n1) (local.get $nodes)) (i32.const 1))))))
            (local.set $score (i32.add (local.get $scores)
              (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 2)) (local.get $outputs)) (local.get $k)) (i32.const 3))))
            (f64.store (local.get $score) (f64.add (f64.load (local.get $score))
              (f64.load (i32.add (local.get $values) (i32.shr_u (i32.sub (local.get $n2) (local.get $nodes)) (i32.const 1))))))
            (local.set $score (i32.add (local.get $scores)
              (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 3)) (local.get $outputs)) (local.get $k)) (i32.const 3))))
            (f64.store (local.get $score) (f64.add (f64.load (local.get $score))
              (f64.load (i32.add (local.get $values) (i32.shr_u (i32.sub (local.get $n3) (local.get $nodes)) (i32.const 1))))))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $each_quad)))
        ;; The last rows one at a time.
        (block $rows_done
          (loop $each_row
            (br_if $rows_done (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $r0 (i32.add (local.get $x) (i32.shl (i32.mul (i32.add (local.get $i) (i32.const 0)) (local.get $p)) (i32.const 3))))
            (local.set $n0 (local.get $root))
            (local.set $d (local.get $depth))
            (block $walked
              (loop $walk
                (br_if $walked (i32.eqz (local.get $d)))
                (local.set $n0
                  (i32.add (local.get $nodes)
                    (i32.shl
                      (i32.add
                        (i32.and (local.tee $m0 (i32.load offset=12 (local.get $n0))) (i32.const 0x7fffffff))
                        (i32.or
                          (f64.gt
                            (local.tee $x0 (f64.load (i32.add (local.get $r0)
                              (i32.shl (i32.load offset=8 (local.get $n0)) (i32.const 3)))))
                            (f64.load (local.get $n0)))
                          (i32.and (i32.shr_u (local.get $m0) (i32.const 31)) (f64.ne (local.get $x0) (local.get $x0)))))
                      (i32.const 4))))
                (local.set $d (i32.sub (local.get $d) (i32.const 1)))
                (br $walk)))
            (local.set $score (i32.add (local.get $scores)
              (i32.shl (i32.add (i32.mul (i32.add (local.get $i) (i32.const 0)) (local.get $outputs)) (local.get $k)) (i32.const 3))))
            (f64.store (local.get $score) (f64.add (f64.load (local.get $score))
              (f64.load (i32.add (local.get $values) (i32.shr_u (i32.sub (local.get $n0) (local.get $nodes)) (i32.const 1))))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $each_row)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $each_tree))))
)
