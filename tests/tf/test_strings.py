"""String tensors as TensorFlow's: bytes (UTF-8), printed ``b'...'``, and the
``tf.strings`` / ``tf.io`` ops of TensorFlow's tensor guide (tensorflow.org/
guide/tensor, "String tensors": the expected texts below are the guide's)."""

import numpy as np
import pytest

import s2sgrad.tf as tf


def test_string_tensors_print_as_bytes():
    scalar = tf.constant("Gray wolf")
    assert str(scalar) == "tf.Tensor(b'Gray wolf', shape=(), dtype=string)"
    assert repr(scalar) == "<tf.Tensor: shape=(), dtype=string, numpy=b'Gray wolf'>"
    assert scalar.numpy() == b"Gray wolf" and scalar.dtype == tf.string
    vector = tf.constant(["Gray wolf", "Quick brown fox", "Lazy dog"])
    assert str(vector) == ("tf.Tensor([b'Gray wolf' b'Quick brown fox' b'Lazy dog'], "
                           "shape=(3,), dtype=string)")
    assert repr(tf.constant(["a", "bc"])) == (
        "<tf.Tensor: shape=(2,), dtype=string, numpy=array([b'a', b'bc'], dtype=object)>")
    assert str(tf.constant("🥳👍")) == (
        r"tf.Tensor(b'\xf0\x9f\xa5\xb3\xf0\x9f\x91\x8d', shape=(), dtype=string)")
    assert str(vector[1]) == "tf.Tensor(b'Quick brown fox', shape=(), dtype=string)"
    assert str(tf.Variable("x").dtype) == "<dtype: 'string'>"


def test_tf_print_shows_strings_plainly(capsys):
    tf.print(tf.constant("Hello"), tf.constant(["a", "bc"]))
    assert capsys.readouterr().err == 'Hello ["a" "bc"]\n'


def test_the_guides_string_ops():
    scalar = tf.constant("Gray wolf")
    assert str(tf.strings.split(scalar, sep=" ")) == (
        "tf.Tensor([b'Gray' b'wolf'], shape=(2,), dtype=string)")
    text = tf.constant("1 10 100")
    assert str(tf.strings.to_number(tf.strings.split(text, " "))) == (
        "tf.Tensor([  1.  10. 100.], shape=(3,), dtype=float32)")
    assert str(tf.strings.bytes_split(tf.constant("Duck"))) == (
        "tf.Tensor([b'D' b'u' b'c' b'k'], shape=(4,), dtype=string)")
    assert str(tf.io.decode_raw(tf.constant("Duck"), tf.uint8)) == (
        "tf.Tensor([ 68 117  99 107], shape=(4,), dtype=uint8)")
    duck = tf.constant("アヒル 🦆")
    assert str(tf.strings.unicode_decode(duck, "UTF-8")) == (
        "tf.Tensor([ 12450  12498  12523     32 129414], shape=(5,), dtype=int32)")
    assert tf.strings.unicode_split(duck, "UTF-8").numpy()[-1] == "🦆".encode()
    assert int(tf.strings.length(duck)) == 14
    assert int(tf.strings.length(duck, unit="UTF8_CHAR")) == 5
    pair = tf.constant(["ab", "Cd"])
    assert list(tf.strings.upper(pair).numpy()) == [b"AB", b"CD"]
    assert list(tf.strings.lower(pair).numpy()) == [b"ab", b"cd"]
    assert list(tf.strings.join([pair, pair], separator="-").numpy()) == [b"ab-ab", b"Cd-Cd"]
    assert tf.strings.reduce_join(pair, separator=",").numpy() == b"ab,Cd"
    assert list(tf.strings.as_string(tf.constant([1, 20])).numpy()) == [b"1", b"20"]
    assert list(tf.strings.regex_full_match(pair, "a.").numpy()) == [True, False]
    with pytest.raises(NotImplementedError, match="RaggedTensor"):
        tf.strings.split(tf.constant(["a b", "c"]))
    with pytest.raises(TypeError, match="string tensor"):
        tf.strings.upper(tf.constant(1.0))
    assert np.asarray(tf.strings.to_number(tf.constant(["3"]), tf.int32).numpy()).dtype == np.int32
