#!/usr/bin/python3
"""Builds resources/demo/data/ from the demo photos (run by hand; the
results are committed, nothing at build or test time needs Python).

    resources/demo/make_demo_data.py [PHOTOS]     (default /work/shared/demo-photos)

imagenet/   a tiny ImageNet in the DINOv2 layout: labels.txt, train/, val/,
            test/ and extra/ (entries, class ids and names). The train and
            val extra files are written by DINOv2's own ImageNet.dump_extra()
            (tests/fixtures/dinov2_extra.py); the test entries list the
            four test files in the same dtype (DINOv2 writes 100,000 entries
            whatever the folder holds).
voc/        a tiny PASCAL VOC 2012: VOCdevkit/VOC2012/JPEGImages,
            SegmentationClass (palette PNGs with the VOC colour map: 0
            background, 8 cat, 13 horse, 15 person, 255 boundary) and
            ImageSets/Segmentation/{train,val}.txt. The horse photo is drawn
            from the horse silhouette mask; the cat and person masks are
            hand-drawn polygons.

Needs python3-pil, python3-numpy and (for the extra files) python3-torchvision.
"""
import os
import shutil
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "fixtures"))
from dinov2_extra import dump_extra  # noqa: E402

PHOTOS = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/demo-photos"
OUT = os.path.join(HERE, "data")

# ImageNet: (wnid, name as in DINOv2's labels.txt) in wnid order.
CLASSES = [
    ("n02123045", "tabby, tabby cat"),
    ("n03063599", "coffee mug"),
    ("n03773504", "missile"),
]
TRAIN = {  # wnid -> photos, numbered _1, _2, ...
    "n02123045": ["chelsea.jpg"],
    "n03063599": ["coffee.jpg", "coffee_cmyk.jpg"],
    "n03773504": ["rocket.jpg"],
}
VAL = [  # (val number, wnid, photo): mirrored copies of the train photos
    (1, "n03773504", "rocket.jpg"),
    (2, "n02123045", "chelsea.jpg"),
    (3, "n03063599", "coffee.jpg"),
]
TEST = ["astronaut.jpg", "brick_gray.jpg", "gravel_gray.jpg"]  # no labels


def voc_palette():
    """The PASCAL VOC colour map: bits of the label spread over R, G, B."""
    pal = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal += [r, g, b]
    return pal


def save_voc_mask(labels, path):
    """labels: uint8 [H, W] of class indices; VOC marks a 5-pixel band around
    each object as 255 (ignored)."""
    out = labels.copy()
    fg = Image.fromarray(((labels > 0) * 255).astype(np.uint8))
    band = np.array(fg.filter(ImageFilter.MaxFilter(5))) != np.array(fg.filter(ImageFilter.MinFilter(5)))
    out[band] = 255
    im = Image.fromarray(out, mode="P")
    im.putpalette(voc_palette())
    im.save(path, optimize=True)


def polygon_mask(size, polygons):
    """polygons: [(label, [(x, y), ...]), ...] drawn in order."""
    im = Image.new("L", size, 0)
    d = ImageDraw.Draw(im)
    for label, pts in polygons:
        d.polygon(pts, fill=label)
    return np.array(im)


def horse_photo(silhouette):
    """A simple picture of a brown horse on grass under a sky, drawn from the
    silhouette (1 = horse), 400x328."""
    rng = np.random.default_rng(2025)
    h, w = silhouette.shape
    y = np.arange(h, dtype=np.float32)[:, None] / h
    sky = np.stack([150 + 60 * y, 190 + 40 * y, 235 + 10 * y], -1) * np.ones((1, w, 1))
    grass = np.stack([70 + 20 * y, 130 + 30 * y, 50 + 10 * y], -1) * np.ones((1, w, 1))
    horizon = int(0.72 * h)
    img = np.where(np.arange(h)[:, None, None] < horizon, sky, grass)
    img[horizon:] += rng.normal(0, 12, (h - horizon, w, 1))
    shade = 0.75 + 0.35 * (1 - y)
    horse = np.stack([125 * shade, 78 * shade, 45 * shade], -1) * np.ones((1, w, 1))
    horse += rng.normal(0, 6, (h, w, 1))
    img = np.where(silhouette[:, :, None] > 0, horse, img)
    im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    return im.filter(ImageFilter.GaussianBlur(0.6))


def copy(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copyfile(src, dst)


def make_imagenet():
    root = os.path.join(OUT, "imagenet")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    with open(os.path.join(root, "labels.txt"), "w") as f:
        for wnid, name in CLASSES:
            f.write('%s,"%s"\n' % (wnid, name) if "," in name else "%s,%s\n" % (wnid, name))
    for wnid, photos in TRAIN.items():
        for k, photo in enumerate(photos, 1):
            copy(os.path.join(PHOTOS, photo), os.path.join(root, "train", wnid, "%s_%d.JPEG" % (wnid, k)))
    for n, wnid, photo in VAL:
        dst = os.path.join(root, "val", wnid, "ILSVRC2012_val_%08d.JPEG" % n)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        ImageOps.mirror(Image.open(os.path.join(PHOTOS, photo)).convert("RGB")).save(dst, "JPEG", quality=90)
    for n, photo in enumerate(TEST, 1):
        copy(os.path.join(PHOTOS, photo), os.path.join(root, "test", "ILSVRC2012_test_%08d.JPEG" % n))
    extra = os.path.join(root, "extra")
    dump_extra(root, extra, "train")
    dump_extra(root, extra, "val")
    dtype = np.dtype([("actual_index", "<u4"), ("class_index", "<u4"), ("class_id", "U0"), ("class_name", "U0")])
    test = np.empty(len(TEST), dtype=dtype)
    for i in range(len(TEST)):
        test[i] = (i + 1, np.array(-1).astype(np.uint32), "", "")
    np.save(os.path.join(extra, "entries-TEST.npy"), test)


def make_voc():
    root = os.path.join(OUT, "voc")
    shutil.rmtree(root, ignore_errors=True)
    voc = os.path.join(root, "VOCdevkit", "VOC2012")
    for d in ["JPEGImages", "SegmentationClass", "ImageSets/Segmentation"]:
        os.makedirs(os.path.join(voc, d))

    def jpeg(name):
        return os.path.join(voc, "JPEGImages", name + ".jpg")

    def mask(name):
        return os.path.join(voc, "SegmentationClass", name + ".png")

    sil = np.array(Image.open(os.path.join(PHOTOS, "horse_mask.png")))
    horse_photo(sil).save(jpeg("demo_horse"), "JPEG", quality=90)
    save_voc_mask(np.where(sil > 0, 13, 0).astype(np.uint8), mask("demo_horse"))

    copy(os.path.join(PHOTOS, "chelsea.jpg"), jpeg("demo_chelsea"))
    cat = [(0, 0), (35, 0), (60, 15), (100, 0), (330, 0), (385, 10), (375, 60), (385, 110), (400, 160),
           (420, 220), (430, 300), (0, 300)]
    save_voc_mask(polygon_mask((451, 300), [(8, cat)]), mask("demo_chelsea"))

    copy(os.path.join(PHOTOS, "astronaut.jpg"), jpeg("demo_astronaut"))
    person = [(160, 40), (200, 18), (260, 18), (300, 50), (300, 140), (290, 165), (300, 200), (330, 230),
              (355, 280), (365, 350), (330, 380), (290, 420), (280, 512), (30, 512), (20, 400), (35, 300),
              (100, 240), (120, 200), (150, 150), (155, 100)]
    labels = polygon_mask((512, 512), [(15, person)])
    save_voc_mask(labels, mask("demo_astronaut"))

    # A grayscale photo with nothing of the 20 classes: all background.
    copy(os.path.join(PHOTOS, "gravel_gray.jpg"), jpeg("demo_gravel"))
    save_voc_mask(np.zeros((512, 512), np.uint8), mask("demo_gravel"))

    seg = os.path.join(voc, "ImageSets", "Segmentation")
    with open(os.path.join(seg, "train.txt"), "w") as f:
        f.write("demo_horse\ndemo_chelsea\n")
    with open(os.path.join(seg, "val.txt"), "w") as f:
        f.write("demo_astronaut\ndemo_gravel\n")


def main():
    make_imagenet()
    make_voc()
    with open(os.path.join(PHOTOS, "LICENSES.md")) as f:
        photos = f.read()
    with open(os.path.join(OUT, "LICENSES.md"), "w") as f:
        f.write("# Demo data sets: licenses\n\n"
                "Every image here is one of the demo photos below, or made from one by\n"
                "`resources/demo/make_demo_data.py`: the ImageNet val images are mirrored\n"
                "copies of the train photos; the VOC horse photo is drawn from the horse\n"
                "silhouette (`horse_mask.png`); the VOC masks are the silhouette and polygons\n"
                "drawn by hand over the photos. Derived files carry the license of the photo\n"
                "they come from (all CC0 or public domain). The class names in `labels.txt`\n"
                "are ImageNet's WordNet synset names.\n\n")
        f.write(photos.replace("# Demo photos", "## The photos", 1))


if __name__ == "__main__":
    main()
