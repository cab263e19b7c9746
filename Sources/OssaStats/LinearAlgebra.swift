/// Small dense symmetric positive (semi)definite algebra for the log-rank and Cox code
/// (matrices are at most a few dozen rows, stored row-major in flat arrays).
struct SymmetricSolver {
    let n: Int
    /// Cholesky factor in LDLᵀ form (R's cholesky2): unit lower triangle, diagonal holds D.
    private var factor: [Double]
    /// Per-row flag: false when the pivot was (numerically) zero and the row is dropped.
    private(set) var nonSingular: [Bool]

    /// Factors `matrix` (n×n, symmetric, row-major). Pivots below `tolerance`×(largest
    /// diagonal) are treated as zero, giving a generalized inverse as in R's
    /// cholesky2/chinv2 (tolerance default ε^0.75, R's `toler.chol`).
    init(matrix: [Double], n: Int, tolerance: Double = 1.8189894035458565e-12) {
        self.n = n
        var a = matrix
        var ok = [Bool](repeating: true, count: n)
        var eps = 0.0
        for i in 0..<n { eps = max(eps, abs(a[i * n + i])) }
        eps = eps == 0 ? tolerance : eps * tolerance
        for i in 0..<n {
            let pivot = a[i * n + i]
            if !(pivot > eps) {
                a[i * n + i] = 0
                ok[i] = false
                for j in (i + 1)..<max(n, i + 1) { a[j * n + i] = 0 }
                continue
            }
            for j in (i + 1)..<max(n, i + 1) {
                let temp = a[j * n + i] / pivot
                a[j * n + i] = temp
                a[j * n + j] -= temp * temp * pivot
                for k in (j + 1)..<max(n, j + 1) {
                    a[k * n + j] -= temp * a[k * n + i]
                }
            }
        }
        factor = a
        nonSingular = ok
    }

    /// Solves A x = b (generalized: components of dropped rows are 0).
    func solve(_ b: [Double]) -> [Double] {
        var y = b
        for i in 0..<n {
            var t = y[i]
            for j in 0..<i { t -= factor[i * n + j] * y[j] }
            y[i] = t
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            if !nonSingular[i] {
                y[i] = 0
                continue
            }
            var t = y[i] / factor[i * n + i]
            for j in (i + 1)..<max(n, i + 1) { t -= factor[j * n + i] * y[j] }
            y[i] = t
        }
        return y
    }

    /// (Generalized) inverse, row-major.
    func inverse() -> [Double] {
        var inv = [Double](repeating: 0, count: n * n)
        for j in 0..<n {
            var e = [Double](repeating: 0, count: n)
            e[j] = 1
            let col = solve(e)
            for i in 0..<n { inv[i * n + j] = col[i] }
        }
        // Rows/columns of dropped variables are exactly zero (R: chinv2).
        for i in 0..<n where !nonSingular[i] {
            for j in 0..<n { inv[i * n + j] = 0; inv[j * n + i] = 0 }
        }
        return inv
    }
}
