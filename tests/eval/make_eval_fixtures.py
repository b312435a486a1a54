#!/usr/bin/python3
"""Writes the fixtures of tests/eval/test_eval.c: reference outputs of the
evaluation math, made with the published code's libraries (PyTorch for the
DINOv2 k-NN, scikit-learn for logistic regression, jaccard and scaling).

Run with Debian's /usr/bin/python3 (python3-torch, python3-sklearn):
    /usr/bin/python3 tests/eval/make_eval_fixtures.py
Outputs go to tests/eval/fixtures/ as float32 .npy (labels stored as exact
small floats). Deterministic: fixed seeds."""
import os

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import jaccard_score
from sklearn.preprocessing import StandardScaler

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
os.makedirs(OUT, exist_ok=True)


def save(name, a):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(a, dtype=np.float32))


# --- DINOv2 weighted k-NN (the computation of dinov2/eval/knn.py KnnModule) ---
rng = np.random.default_rng(1)
classes, dim = 6, 16
centers = rng.normal(size=(classes, dim))
train_labels = rng.integers(0, classes, 300)
train = centers[train_labels] + 1.2 * rng.normal(size=(300, dim))
query_labels = rng.integers(0, classes, 50)
queries = centers[query_labels] + 1.2 * rng.normal(size=(50, dim))
train_t = torch.nn.functional.normalize(torch.tensor(train, dtype=torch.float32), dim=1, p=2)
query_t = torch.nn.functional.normalize(torch.tensor(queries, dtype=torch.float32), dim=1, p=2)
ks, T = [10, 20, 100, 200], 0.07
sim = query_t @ train_t.T
topk_sims, idx = sim.topk(max(ks), largest=True, sorted=True)
neighbor_labels = torch.tensor(train_labels)[idx]
w = torch.softmax(topk_sims / T, 1)
matmul = torch.mul(torch.nn.functional.one_hot(neighbor_labels, num_classes=classes), w.view(50, -1, 1))
votes = np.stack([torch.sum(matmul[:, :k, :], 1).numpy() for k in ks], axis=1)  # [Q, nk, classes]


def in_top(scores, label, top):
    # rank by score, ties to the lower class index
    order = sorted(range(len(scores)), key=lambda c: (-scores[c], c))
    return label in order[:top]


acc = np.array([[np.mean([in_top(votes[q, i], query_labels[q], t) for q in range(50)]) for t in (1, 5)]
                for i in range(len(ks))])
save("knn_train", train_t.numpy())
save("knn_train_labels", train_labels)
save("knn_queries", query_t.numpy())
save("knn_query_labels", query_labels)
save("knn_votes", votes)
save("knn_accuracy", acc)
save("knn_neighbors", idx.numpy()[:, :10])

# --- multinomial logistic regression, L2, lbfgs (scikit-learn's objective) ---
rng = np.random.default_rng(2)
labels_used = np.array([0, 2, 5, 7])  # a gap in the labels: only present classes are modelled
dim = 8
# overlapping classes: the unregularized end (C = 1e5) keeps a finite optimum
# with moderate coefficients, which float32 logits resolve
centers = 0.6 * rng.normal(size=(4, dim))
y = rng.integers(0, 4, 400)
X = (centers[y] + rng.normal(size=(400, dim)) * rng.uniform(0.5, 2.0, size=dim)).astype(np.float32)
yt = rng.integers(0, 4, 200)
Xt = (centers[yt] + rng.normal(size=(200, dim)) * rng.uniform(0.5, 2.0, size=dim)).astype(np.float32)
Cs = 10 ** np.linspace(-6, 5, 8)


def objective(theta, X, y, C):
    """scikit-learn's lbfgs objective: sum of the multinomial losses + ||W||^2 / (2C)."""
    W, b = theta[:-4].reshape(4, -1), theta[-4:]
    z = X @ W.T + b
    zmax = z.max(1, keepdims=True)
    lse = zmax[:, 0] + np.log(np.exp(z - zmax).sum(1))
    p = np.exp(z - lse[:, None])
    p[np.arange(len(y)), y] -= 1
    f = np.sum(lse - z[np.arange(len(y)), y]) + 0.5 * np.sum(W ** 2) / C
    g = np.concatenate([(p.T @ X + W / C).ravel(), p.sum(0)])
    return f, g


def polish(theta, X, y, C):
    from scipy.optimize import minimize
    res = minimize(objective, theta, args=(X, y, C), jac=True, method="L-BFGS-B",
                   options={"maxiter": 100000, "ftol": 0.0, "gtol": 1e-10, "maxcor": 30})
    return res.x
coefs, intercepts, preds, objectives = [], [], [], []
for C in Cs:
    clf = LogisticRegression(multi_class="multinomial", penalty="l2", C=C, solver="lbfgs", max_iter=100000,
                             tol=1e-12)
    clf.fit(X.astype(np.float64), labels_used[y])
    # scikit-learn 1.2 hands scipy's L-BFGS-B its default ftol (2.2e-9), so
    # its solution is polished here on the same objective to the optimum
    theta = polish(np.concatenate([clf.coef_.ravel(), clf.intercept_]), X.astype(np.float64), y, C)
    clf.coef_, clf.intercept_ = theta[:-4].reshape(4, dim), theta[-4:]
    coefs.append(clf.coef_)
    intercepts.append(clf.intercept_)
    preds.append(clf.predict(Xt.astype(np.float64)))
    objectives.append(objective(theta, X.astype(np.float64), y, C)[0])
save("logreg_x", X)
save("logreg_y", labels_used[y])
save("logreg_xt", Xt)
save("logreg_c", Cs)
save("logreg_coef", np.stack(coefs))            # [8, 4, dim]
save("logreg_intercept", np.stack(intercepts))  # [8, 4]
save("logreg_pred", np.stack(preds))            # [8, 200]
np.save(os.path.join(OUT, "logreg_objective.npy"), np.array(objectives, dtype=np.float32))

# --- segmentation scores: jaccard_score(average="macro") and accuracy on the
# pixels whose ground truth is not ignored (ADE20K: 0 and 255) ---
rng = np.random.default_rng(3)
gt = rng.choice([0, 1, 2, 3, 4, 5, 9, 255], size=5000).astype(np.uint8)
pred = rng.choice([0, 1, 2, 3, 4, 6], size=5000, p=[0.1, 0.3, 0.2, 0.2, 0.1, 0.1]).astype(np.uint8)
pred[gt == 2] = 2  # some structure so that IoUs differ
mask = ~np.isin(gt, [0, 255])
miou = jaccard_score(gt[mask], pred[mask], average="macro")
present = np.unique(np.concatenate([gt[mask], pred[mask]]))
ious = jaccard_score(gt[mask], pred[mask], average=None, labels=present)
pixel_acc = np.mean(gt[mask] == pred[mask])
save("seg_gt", gt)
save("seg_pred", pred)
np.save(os.path.join(OUT, "seg_scores.npy"), np.array([miou, pixel_acc], dtype=np.float32))
save("seg_present", present)
save("seg_iou", ious)

# --- StandardScaler ---
rng = np.random.default_rng(4)
F = rng.normal(size=(100, 6)).astype(np.float32) * np.array([1, 2, 0.5, 3, 1, 1], dtype=np.float32) + 4
F[:, 5] = 2.5  # a constant feature keeps scale 1
sc = StandardScaler().fit(F)
save("scaler_x", F)
save("scaler_mean", sc.mean_)
save("scaler_scale", sc.scale_)
print("wrote", OUT)
