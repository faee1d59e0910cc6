"""Which library does the local 1-D FFTs inside the distributed FFT.

:class:`zzhpc.parallel.fft.DistributedFFT` calls ``xp.fft.rfftn/fftn/ifftn/irfftn`` with one axis. For
the NumPy backend, NumPy 1.24's C pocketfft copies every non-contiguous line and is 3-8x slower
here than SciPy's C++ pocketfft (SIMD across lines, no copies; measured in docs/spectral.md), so the
NumPy backend gets a namespace that is ``xp`` in every respect but ``.fft``, which is ``scipy.fft``.
Other backends (torch, CuPy) keep their own FFT (cuFFT on a GPU). Same transforms, same
normalisation: results agree with ``numpy.fft`` to round-off.
"""


class _ScipyFFT:
    """``xp.fft`` look-alike backed by :mod:`scipy.fft` (the subset DistributedFFT uses).

    ``overwrite_x = True`` lets a complex-to-complex transform work in its input's memory;
    DistributedFFT passes it only for arrays it made itself (never the caller's). With
    ``supports_out``, ``c2c_into``/``r2c_into``/``c2r_into`` write a one-axis transform into a given
    array (the plan's work buffers; in place when ``out`` is the input), so no temporary is made."""

    supports_overwrite = True

    def __init__(self, workers=None):
        import scipy.fft

        self._f, self.workers = scipy.fft, workers
        try:  # pocketfft's own entry points take an output array (in place when it is the input)
            from scipy.fft._pocketfft import pypocketfft

            self._p = pypocketfft if hasattr(pypocketfft, "c2r") else None
        except ImportError:
            self._p = None
        self.supports_out = self._p is not None

    # One-axis transforms into ``out`` (DistributedFFT's work buffers): unnormalised forward, 1/n backward.
    def c2c_into(self, x, axis, forward, out):
        return self._p.c2c(
            x, axes=(axis,), forward=forward, inorm=0 if forward else 2, out=out, nthreads=self.workers or 1
        )

    def r2c_into(self, x, axis, out):
        return self._p.r2c(x, axes=(axis,), forward=True, inorm=0, out=out, nthreads=self.workers or 1)

    def c2r_into(self, x, axis, n, out):
        return self._p.c2r(x, axes=(axis,), lastsize=n, forward=False, inorm=2, out=out, nthreads=self.workers or 1)

    def rfftn(self, x, s=None, axes=None, norm=None):
        return self._f.rfftn(x, s=s, axes=axes, norm=norm, workers=self.workers)

    def irfftn(self, x, s=None, axes=None, norm=None):
        return self._f.irfftn(x, s=s, axes=axes, norm=norm, workers=self.workers)

    def fftn(self, x, s=None, axes=None, norm=None, overwrite_x=False):
        return self._f.fftn(x, s=s, axes=axes, norm=norm, workers=self.workers, overwrite_x=overwrite_x)

    def ifftn(self, x, s=None, axes=None, norm=None, overwrite_x=False):
        return self._f.ifftn(x, s=s, axes=axes, norm=norm, workers=self.workers, overwrite_x=overwrite_x)

    def __getattr__(self, name):
        return getattr(self._f, name)


class _WithFFT:
    """An array namespace with its ``fft`` attribute replaced."""

    def __init__(self, xp, fft):
        self._xp, self.fft = xp, fft

    def __getattr__(self, name):
        return getattr(self._xp, name)


def fft_namespace(backend, library="auto"):
    """Namespace to hand to DistributedFFT: ``backend.xp``, or for NumPy (``library`` ``"auto"`` or
    ``"scipy"``) ``backend.xp`` with ``scipy.fft``. ``library = "native"`` always gives ``backend.xp``."""
    if library == "native" or backend.name != "numpy":
        return backend.xp
    try:
        return _WithFFT(backend.xp, _ScipyFFT())
    except ImportError:
        if library == "scipy":
            raise
        return backend.xp
