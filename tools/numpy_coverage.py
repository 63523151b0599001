"""Every public NumPy callable, classified; writes the README's "NumPy coverage".

Four classes, each a promise tested in ``tests/primitives/test_numpy_coverage.py``:

* **rule**: the primitive table has a derivative rule for it (its finite-
  difference test is with the rule family);
* **no derivative**: declared nondifferentiable (integer, boolean or
  piecewise-constant results, shapes, positions): no gradient flows
  through it and using it is never an error;
* **refused**: a derivative exists but s2sgrad has no rule: a call
  receiving a differentiated value raises ``UnsupportedSyntaxError``
  naming the function and the user's file and line (``sg.defgrad``
  registers one);
* **not applicable**: input and output, printing, settings, types and
  classes, iteration helpers, introspection. There is nothing to
  differentiate; like any call without a rule, one receiving a
  differentiated value is refused.

The first two classes are read from the primitive table itself; the other
two are the tables below, grouped by reason. A NumPy release adding a
public callable makes the test fail until the callable is classified here
(or gets a rule). ``python -m tools.numpy_coverage`` rewrites the README
section; the test checks that it is up to date.
"""

import sys
import types
from pathlib import Path

import numpy as np

#: the namespaces enumerated, by the prefix a user writes
NAMESPACES = (("np.", np), ("np.linalg.", np.linalg), ("np.fft.", np.fft))

#: refused, by reason: a derivative exists but no rule is written yet
REFUSED = {
    "complex results (s2sgrad differentiates real-valued programs)": """
        np.fft.fft np.fft.ifft np.fft.fft2 np.fft.ifft2 np.fft.fftn np.fft.ifftn
        np.fft.rfft np.fft.irfft np.fft.rfft2 np.fft.irfft2 np.fft.rfftn np.fft.irfftn
        np.fft.hfft np.fft.ihfft np.roots np.sort_complex np.real_if_close
    """,
    "call a Python function s2sgrad cannot see into (write the loop, or differentiate the function)": """
        np.vectorize np.frompyfunc np.apply_along_axis np.apply_over_axes np.piecewise
        np.fromfunction
    """,
    "creation from differentiable values (start, step, endpoints, fill value, parameter)": """
        np.arange np.geomspace np.kaiser
        np.fft.fftfreq np.fft.rfftfreq
    """,
    "conversions and copies without a rule": """
        np.asmatrix np.bmat np.matrix np.poly1d
    """,
    "joining, gathering and rearranging without a rule": """
        np.block np.broadcast_arrays np.compress np.extract np.delete np.insert np.resize
        np.diagflat np.trim_zeros np.row_stack
    """,
    "writing into an argument (write the result to a new array instead)": """
        np.copyto np.put np.place np.putmask np.fill_diagonal np.put_along_axis
    """,
    "sets and unique values": """
        np.unique np.unique_all np.unique_counts np.unique_inverse np.unique_values
        np.intersect1d np.union1d np.setdiff1d np.setxor1d
    """,
    "statistics and histograms": """
        np.nanmedian
        np.histogram np.histogram2d np.histogramdd np.histogram_bin_edges
    """,
    "polynomials": """
        np.poly np.polyadd np.polysub np.polymul np.polydiv np.polyder np.polyint
    """,
    "signals, integrals, interpolation and special functions": """
        np.cumulative_prod np.nextafter
    """,
    "ndarray methods without a rule or with a different meaning from the function of the same name "
    "(x.sort() and x.partition() sort in place; call the NumPy function)": """
        ndarray.compress ndarray.view ndarray.getfield
        ndarray.sort ndarray.partition ndarray.resize ndarray.fill ndarray.put ndarray.setfield
        ndarray.byteswap ndarray.choose ndarray.take ndarray.flat ndarray.mT
        ndarray.argpartition ndarray.searchsorted
    """,
}

#: not applicable, by reason: nothing to differentiate
NOT_APPLICABLE = {
    "input and output": """
        np.load np.loadtxt np.save np.savetxt np.savez np.savez_compressed np.genfromtxt
        np.fromfile np.fromregex np.fromstring np.frombuffer np.fromiter np.from_dlpack np.memmap
        ndarray.dump ndarray.dumps ndarray.tofile ndarray.tobytes
    """,
    "printing and formatting": """
        np.array2string np.array_repr np.array_str np.base_repr np.binary_repr
        np.format_float_positional np.format_float_scientific np.set_printoptions
        np.get_printoptions np.printoptions np.datetime_as_string np.info np.typename
    """,
    "floating-point error and buffer settings": """
        np.seterr np.geterr np.seterrcall np.geterrcall np.errstate np.setbufsize np.getbufsize
    """,
    "dates and times": """
        np.datetime64 np.timedelta64 np.datetime_data np.busday_count np.busday_offset
        np.is_busday np.busdaycalendar
    """,
    "scalar types, dtypes and classes (a cast of a differentiated value is x.astype(...))": """
        np.bool np.bool_ np.byte np.bytes_ np.cdouble np.character np.clongdouble np.complex128
        np.complex256 np.complex64 np.complexfloating np.csingle np.dtype np.finfo np.flexible
        np.float128 np.float16 np.floating np.generic np.half np.iinfo np.inexact np.int16
        np.int32 np.int64 np.int8 np.int_ np.intc np.integer np.intp np.long np.longdouble
        np.longlong np.ndarray np.number np.object_ np.recarray np.record np.short
        np.signedinteger np.str_ np.ubyte np.ufunc np.uint np.uint16 np.uint32 np.uint64
        np.uint8 np.uintc np.uintp np.ulong np.ulonglong np.unsignedinteger np.ushort np.void
        np.linalg.LinAlgError
    """,
    "iteration helpers": """
        np.nditer np.ndenumerate np.ndindex np.nested_iters np.flatiter np.broadcast
    """,
    "introspection, configuration and tests": """
        np.show_config np.show_runtime np.get_include np.test np.linalg.test np.fft.test
        np.einsum_path
    """,
    "memory and array attributes": """
        ndarray.base ndarray.ctypes ndarray.data ndarray.device ndarray.flags ndarray.itemsize
        ndarray.nbytes ndarray.strides ndarray.setflags ndarray.to_device
    """,
}


def _names(table):
    """{name: reason} of a table of reasons to whitespace-separated names."""
    return {name: reason for reason, names in table.items() for name in names.split()}


def public_callables():
    """{spelling: object} of every public callable of the NumPy namespaces
    (modules left out), and every public ndarray method and attribute."""
    found = {}
    for prefix, module in NAMESPACES:
        for name in dir(module):
            obj = getattr(module, name)
            if name.startswith("_") or isinstance(obj, types.ModuleType) or not callable(obj):
                continue
            found[prefix + name] = obj
    for name in dir(np.ndarray):
        if not name.startswith("_"):
            found["ndarray." + name] = getattr(np.ndarray, name)
    return found


def _method_class(registry, name):
    """The class an ndarray method or attribute falls in from its spelling facts
    (or from the helper the normaliser spells it with: ``x.item()``)."""
    from s2sgrad.frontend.idioms import ARRAY_METHODS

    record = registry.method(name) or registry.attribute(name) or \
        registry.record(ARRAY_METHODS.get(name))
    if record is None:
        return None
    return "rule" if record.vjp is not None else "no derivative" if record.nondifferentiable else None


def classify():
    """[(spelling, class, reason)] for every public callable, sorted by spelling.

    The class is None for a callable classified nowhere, or in two places
    (the table says one thing and the primitive table another).
    """
    from s2sgrad.primitives import registry

    refused, inapplicable = _names(REFUSED), _names(NOT_APPLICABLE)
    rows = []
    for spelling, obj in sorted(public_callables().items()):
        if spelling.startswith("ndarray."):
            known = _method_class(registry, spelling[len("ndarray."):])
        elif registry.lookup(obj) is not None:
            known = "rule"
        elif registry.is_nondifferentiable(obj):
            known = "no derivative"
        else:
            known = None
        listed = [c for c, table in (("refused", refused), ("not applicable", inapplicable))
                  if spelling in table]
        reason = refused.get(spelling) or inapplicable.get(spelling) or ""
        if known is not None and not listed:
            rows.append((spelling, known, ""))
        elif known is None and len(listed) == 1:
            rows.append((spelling, listed[0], reason))
        else:
            rows.append((spelling, None, f"primitive table: {known}; listed as: {listed}"))
    return rows


START = "<!-- numpy-coverage: generated by python -m tools.numpy_coverage; do not edit -->"
END = "<!-- end numpy-coverage -->"

CLASSES = ("rule", "no derivative", "refused", "not applicable")


def _by_reason(rows):
    grouped = {}
    for spelling, _, reason in rows:
        grouped.setdefault(reason, []).append(spelling)
    return grouped


def _spellings(names):
    return " ".join(f"`{n}`" for n in names)


def section(rows=None):
    """The README's "NumPy coverage" section (between its markers)."""
    rows = classify() if rows is None else rows
    counts = {c: sum(1 for r in rows if r[1] == c) for c in CLASSES}
    lines = [
        START,
        "## NumPy coverage",
        "",
        f"Every public callable of `np`, `np.linalg` and `np.fft`, and every public `ndarray` "
        f"method and attribute, of NumPy {np.__version__}: {len(rows)} in all. "
        "A test enumerates them and fails when a NumPy release adds one that is not classified.",
        "",
        "| class | count | meaning |",
        "|---|---|---|",
        f"| rule | {counts['rule']} | differentiated (every rule is tested against finite differences) |",
        f"| no derivative | {counts['no derivative']} | integer, boolean or piecewise-constant results: "
        "no gradient flows through them, never an error |",
        f"| refused | {counts['refused']} | a derivative exists but there is no rule: "
        "`UnsupportedSyntaxError` naming the function and your file and line "
        "(register one with `sg.defgrad`) |",
        f"| not applicable | {counts['not applicable']} | I/O, printing, settings, types: "
        "nothing to differentiate (refused if given a differentiated value) |",
        "",
    ]
    for cls in CLASSES:
        members = [r for r in rows if r[1] == cls]
        lines.append(f"**{cls.capitalize()}** ({len(members)}):")
        lines.append("")
        for reason, names in _by_reason(members).items():
            lines.append(f"- {reason + ': ' if reason else ''}{_spellings(names)}")
        lines.append("")
    lines.append(END)
    return "\n".join(lines) + "\n"


README = Path(__file__).resolve().parent.parent / "README.md"


def updated_readme(text, new_section):
    """``text`` with its coverage section replaced by ``new_section`` (put
    before "## Forward mode and Hessians" when there is none yet)."""
    if START in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1].lstrip("\n")
        return before + new_section + "\n" + after
    anchor = "## Forward mode and Hessians"
    before, after = text.split(anchor, 1)
    return before + new_section + "\n" + anchor + after


def main():
    rows = classify()
    missing = [r for r in rows if r[1] is None]
    if missing:
        for spelling, _, problem in missing:
            print(f"not classified: {spelling} ({problem})", file=sys.stderr)
        return 1
    README.write_text(updated_readme(README.read_text(), section(rows)))
    print(f"wrote the NumPy coverage section of {README} ({len(rows)} callables)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
