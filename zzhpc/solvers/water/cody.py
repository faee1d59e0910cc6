"""W. J. Cody's rational approximations of erfc (Math. Comp. 23, 631 (1969); SPECFUN's CALERF
coefficients) and the exp constants of the water pair kernels (:mod:`.kernels_numba`, :mod:`.kernels_mixed`).
"""

import math

try:
    from numba import njit
except ImportError:  # pragma: no cover - exercised where numba is absent
    njit = None

# Rational approximations of erf/erfc (Cody 1969; the coefficients of SPECFUN's CALERF).
_A = (
    3.16112374387056560e00,
    1.13864154151050156e02,
    3.77485237685302021e02,
    3.20937758913846947e03,
    1.85777706184603153e-1,
)
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03)
_C = (
    5.64188496988670089e-1,
    8.88314979438837594e00,
    6.61191906371416295e01,
    2.98635138197400131e02,
    8.81952221241769090e02,
    1.71204761263407058e03,
    2.05107837782607147e03,
    1.23033935479799725e03,
    2.15311535474403846e-8,
)
_D = (
    1.57449261107098347e01,
    1.17693950891312499e02,
    5.37181101862009858e02,
    1.62138957456669019e03,
    3.29079923573345963e03,
    4.36261909014324716e03,
    3.43936767414372164e03,
    1.23033935480374942e03,
)
_P = (
    3.05326634961232344e-1,
    3.60344899949804439e-1,
    1.25781726111229246e-1,
    1.60837851487422766e-2,
    6.58749161529837803e-4,
    1.63153871373020978e-2,
)
_Q = (
    2.56852019228982242e00,
    1.87295284992346725e00,
    5.27905102951428412e-1,
    6.05183413124413191e-2,
    2.33520497626869185e-3,
)
_RSQRTPI = 1.0 / math.sqrt(math.pi)
# exp(t) by its Taylor polynomial of degree 13 (error below 1e-17 for |t| <= ln2/2).
(_E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9, _E10, _E11, _E12, _E13) = (1.0 / math.factorial(k) for k in range(2, 14))
_LOG2E = 1.4426950408889634
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10


if njit is not None:

    @njit(cache=True, nogil=True, error_model="numpy", inline="always")
    def _erfc_exp(x, e):
        """erfc(x) for x >= 0 given e = exp(-x*x) (W. J. Cody, Math. Comp. 23, 631 (1969), as in
        SPECFUN's CALERF; relative error below 4e-15)."""
        if x <= 0.46875:
            y = x * x
            num = (((_A[4] * y + _A[0]) * y + _A[1]) * y + _A[2]) * y + _A[3]
            den = (((y + _B[0]) * y + _B[1]) * y + _B[2]) * y + _B[3]
            return 1.0 - x * num / den
        if x <= 4.0:
            num = _C[8] * x
            den = x
            for k in range(7):
                num = (num + _C[k]) * x
                den = (den + _D[k]) * x
            return e * (num + _C[7]) / (den + _D[7])
        y = 1.0 / (x * x)
        num = _P[5] * y
        den = y
        for k in range(4):
            num = (num + _P[k]) * y
            den = (den + _Q[k]) * y
        return e * (_RSQRTPI - y * (num + _P[4]) / (den + _Q[4])) / x
else:  # pragma: no cover
    _erfc_exp = None
