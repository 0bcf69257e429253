;; out = M v for the dense k x k correlation matrix of sensing (src/market/sensing.ts).
;; Rows two at a time; the two lanes of each f64x2 accumulator hold the even and the odd
;; columns. That is exactly the JavaScript product's order of operations (two accumulators
;; per row, multiply then add, the odd column and the odd row done alone), so both give
;; bit-identical results. Build: npm run build:wasm (writes matvec-wasm.ts).
(module
  (memory (export "memory") 1)
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
