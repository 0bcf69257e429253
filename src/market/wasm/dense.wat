;; The dense form of sensing (src/market/sensing.ts, DenseWindow), in WebAssembly:
;; `add` updates the window's sums with a bar, `build` fills the k x k correlation matrix from the window's sums, `matvec` is the power
;; iteration's product. Both do exactly what the JavaScript kernel (src/market/dense-kernel.ts)
;; does, in the same order of floating-point operations, so results are bit-identical.
;; Build: npm run build:wasm (writes dense-wasm.ts).
;;
;; matvec: out = M v. Rows two at a time; the two lanes of each f64x2 accumulator hold the even and the odd
;; columns. That is exactly the JavaScript product's order of operations (two accumulators
;; per row, multiply then add, the odd column and the odd row done alone).
(module
  (memory (export "memory") 1)

  ;; A bar of returns r enters the window's sums (and, when $leaving, the bar `out` leaves):
  ;; sum[i] += r[i] - out[i]; cross[i][j] += r[i] * r[j] - out[i] * out[j] for j >= i.
  (func (export "add")
    (param $cross i32) (param $sum i32) (param $r i32) (param $out i32) (param $n i32) (param $leaving i32)
    (local $i i32) (local $j i32) (local $row i32) (local $at i32) (local $ri f64) (local $li f64)
    (local $riv v128) (local $liv v128)
    (block $i_done
      (loop $rows
        (br_if $i_done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $ri (f64.load (i32.add (local.get $r) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $li
          (if (result f64) (local.get $leaving)
            (then (f64.load (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 3)))))
            (else (f64.const 0))))
        (local.set $at (i32.add (local.get $sum) (i32.shl (local.get $i) (i32.const 3))))
        (f64.store (local.get $at)
          (f64.add (f64.load (local.get $at))
            (if (result f64) (local.get $leaving)
              (then (f64.sub (local.get $ri) (local.get $li)))
              (else (local.get $ri)))))
        (local.set $row (i32.add (local.get $cross) (i32.shl (i32.mul (local.get $i) (local.get $n)) (i32.const 3))))
        (local.set $riv (f64x2.splat (local.get $ri)))
        (local.set $liv (f64x2.splat (local.get $li)))
        (local.set $j (local.get $i))
        (if (local.get $leaving)
          (then
            (block $pairs_done
              (loop $pairs
                (br_if $pairs_done (i32.ge_s (i32.add (local.get $j) (i32.const 1)) (local.get $n)))
                (local.set $at (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 3))))
                (v128.store align=8 (local.get $at)
                  (f64x2.add (v128.load align=8 (local.get $at))
                    (f64x2.sub
                      (f64x2.mul (local.get $riv) (v128.load align=8 (i32.add (local.get $r) (i32.shl (local.get $j) (i32.const 3)))))
                      (f64x2.mul (local.get $liv) (v128.load align=8 (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 3))))))))
                (local.set $j (i32.add (local.get $j) (i32.const 2)))
                (br $pairs)))
            (if (i32.lt_s (local.get $j) (local.get $n))
              (then
                (local.set $at (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 3))))
                (f64.store (local.get $at)
                  (f64.add (f64.load (local.get $at))
                    (f64.sub
                      (f64.mul (local.get $ri) (f64.load (i32.add (local.get $r) (i32.shl (local.get $j) (i32.const 3)))))
                      (f64.mul (local.get $li) (f64.load (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 3)))))))))))
          (else
            (block $pairs_done
              (loop $pairs
                (br_if $pairs_done (i32.ge_s (i32.add (local.get $j) (i32.const 1)) (local.get $n)))
                (local.set $at (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 3))))
                (v128.store align=8 (local.get $at)
                  (f64x2.add (v128.load align=8 (local.get $at))
                    (f64x2.mul (local.get $riv) (v128.load align=8 (i32.add (local.get $r) (i32.shl (local.get $j) (i32.const 3)))))))
                (local.set $j (i32.add (local.get $j) (i32.const 2)))
                (br $pairs)))
            (if (i32.lt_s (local.get $j) (local.get $n))
              (then
                (local.set $at (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 3))))
                (f64.store (local.get $at)
                  (f64.add (f64.load (local.get $at))
                    (f64.mul (local.get $ri) (f64.load (i32.add (local.get $r) (i32.shl (local.get $j) (i32.const 3)))))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows)))
  )

  ;; m[a][b] = m[b][a] = clamp((cross[i][j] - sum[i] * mean[j]) * scale[i] * scale[j], -1, 1)
  ;; for i = idx[a], j = idx[b], a < b; the diagonal is 1. cross is n x n (upper triangle).
  (func (export "build")
    (param $cross i32) (param $sum i32) (param $mean i32) (param $scale i32) (param $idx i32)
    (param $m i32) (param $k i32) (param $n i32)
    (local $a i32) (local $b i32) (local $i i32) (local $j i32) (local $row i32)
    (local $si f64) (local $scaleI f64) (local $c f64)
    (block $a_done
      (loop $rows
        (br_if $a_done (i32.ge_s (local.get $a) (local.get $k)))
        (local.set $i (i32.load (i32.add (local.get $idx) (i32.shl (local.get $a) (i32.const 2)))))
        (local.set $row (i32.add (local.get $cross) (i32.shl (i32.mul (local.get $i) (local.get $n)) (i32.const 3))))
        (local.set $si (f64.load (i32.add (local.get $sum) (i32.shl (local.get $i) (i32.const 3)))))
        (local.set $scaleI (f64.load (i32.add (local.get $scale) (i32.shl (local.get $i) (i32.const 3)))))
        (f64.store
          (i32.add (local.get $m) (i32.shl (i32.add (i32.mul (local.get $a) (local.get $k)) (local.get $a)) (i32.const 3)))
          (f64.const 1))
        (local.set $b (i32.add (local.get $a) (i32.const 1)))
        (block $b_done
          (loop $cols
            (br_if $b_done (i32.ge_s (local.get $b) (local.get $k)))
            (local.set $j (i32.load (i32.add (local.get $idx) (i32.shl (local.get $b) (i32.const 2)))))
            (local.set $c
              (f64.mul
                (f64.mul
                  (f64.sub
                    (f64.load (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 3))))
                    (f64.mul (local.get $si) (f64.load (i32.add (local.get $mean) (i32.shl (local.get $j) (i32.const 3))))))
                  (local.get $scaleI))
                (f64.load (i32.add (local.get $scale) (i32.shl (local.get $j) (i32.const 3))))))
            (if (f64.gt (local.get $c) (f64.const 1))
              (then (local.set $c (f64.const 1)))
              (else (if (f64.lt (local.get $c) (f64.const -1)) (then (local.set $c (f64.const -1))))))
            (f64.store
              (i32.add (local.get $m) (i32.shl (i32.add (i32.mul (local.get $a) (local.get $k)) (local.get $b)) (i32.const 3)))
              (local.get $c))
            (f64.store
              (i32.add (local.get $m) (i32.shl (i32.add (i32.mul (local.get $b) (local.get $k)) (local.get $a)) (i32.const 3)))
              (local.get $c))
            (local.set $b (i32.add (local.get $b) (i32.const 1)))
            (br $cols)))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (br $rows)))
  )

  (func (export "matvec") (param $m i32) (param $v i32) (param $out i32) (param $k i32)
    (local $r i32) (local $c i32) (local $even i32) (local $ra i32) (local $rb i32)
    (local $a v128) (local $b v128) (local $vv v128) (local $x f64) (local $a0 f64) (local $b0 f64)
    (local.set $even (i32.and (local.get $k) (i32.const -2)))
    (block $pairs_done
      (loop $pairs
        (br_if $pairs_done (i32.ge_s (i32.add (local.get $r) (i32.const 1)) (local.get $k)))
        (local.set $ra (i32.add (local.get $m) (i32.shl (i32.mul (local.get $r) (local.get $k)) (i32.const 3))))
        (local.set $rb (i32.add (local.get $ra) (i32.shl (local.get $k) (i32.const 3))))
        (local.set $a (v128.const f64x2 0 0))
        (local.set $b (v128.const f64x2 0 0))
        (local.set $c (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_s (local.get $c) (local.get $even)))
            (local.set $vv (v128.load align=8 (i32.add (local.get $v) (i32.shl (local.get $c) (i32.const 3)))))
            (local.set $a (f64x2.add (local.get $a)
              (f64x2.mul (v128.load align=8 (i32.add (local.get $ra) (i32.shl (local.get $c) (i32.const 3)))) (local.get $vv))))
            (local.set $b (f64x2.add (local.get $b)
              (f64x2.mul (v128.load align=8 (i32.add (local.get $rb) (i32.shl (local.get $c) (i32.const 3)))) (local.get $vv))))
            (local.set $c (i32.add (local.get $c) (i32.const 2)))
            (br $cols)))
        (local.set $a0 (f64x2.extract_lane 0 (local.get $a)))
        (local.set $b0 (f64x2.extract_lane 0 (local.get $b)))
        (if (i32.lt_s (local.get $c) (local.get $k))
          (then
            (local.set $x (f64.load (i32.add (local.get $v) (i32.shl (local.get $c) (i32.const 3)))))
            (local.set $a0 (f64.add (local.get $a0)
              (f64.mul (f64.load (i32.add (local.get $ra) (i32.shl (local.get $c) (i32.const 3)))) (local.get $x))))
            (local.set $b0 (f64.add (local.get $b0)
              (f64.mul (f64.load (i32.add (local.get $rb) (i32.shl (local.get $c) (i32.const 3)))) (local.get $x))))))
        (f64.store (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 3)))
          (f64.add (local.get $a0) (f64x2.extract_lane 1 (local.get $a))))
        (f64.store (i32.add (local.get $out) (i32.shl (i32.add (local.get $r) (i32.const 1)) (i32.const 3)))
          (f64.add (local.get $b0) (f64x2.extract_lane 1 (local.get $b))))
        (local.set $r (i32.add (local.get $r) (i32.const 2)))
        (br $pairs)))
    ;; An odd k: the last row alone, with the same even/odd split.
    (if (i32.lt_s (local.get $r) (local.get $k))
      (then
        (local.set $ra (i32.add (local.get $m) (i32.shl (i32.mul (local.get $r) (local.get $k)) (i32.const 3))))
        (local.set $a (v128.const f64x2 0 0))
        (local.set $c (i32.const 0))
        (block $last_done
          (loop $last
            (br_if $last_done (i32.ge_s (local.get $c) (local.get $even)))
            (local.set $a (f64x2.add (local.get $a)
              (f64x2.mul
                (v128.load align=8 (i32.add (local.get $ra) (i32.shl (local.get $c) (i32.const 3))))
                (v128.load align=8 (i32.add (local.get $v) (i32.shl (local.get $c) (i32.const 3)))))))
            (local.set $c (i32.add (local.get $c) (i32.const 2)))
            (br $last)))
        (local.set $a0 (f64x2.extract_lane 0 (local.get $a)))
        (if (i32.lt_s (local.get $c) (local.get $k))
          (then
            (local.set $a0 (f64.add (local.get $a0)
              (f64.mul
                (f64.load (i32.add (local.get $ra) (i32.shl (local.get $c) (i32.const 3))))
                (f64.load (i32.add (local.get $v) (i32.shl (local.get $c) (i32.const 3)))))))))
        (f64.store (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 3)))
          (f64.add (local.get $a0) (f64x2.extract_lane 1 (local.get $a))))))))
