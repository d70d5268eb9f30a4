"""Drawing synthetic faces: a photo and its pixel-exact label map, painted part by part.

Every photo shows one synthetic person: skin, neck and shoulders, ears, eyes (sclera, iris,
pupil, eyelids), eyebrows, a shaded nose, lips and sometimes an open mouth, hair that can
hide the forehead and ears, glasses on about one subject in six, and now and then a hat,
a scarf or a bald crown, in front of a cluttered background, with lighting, blur, noise and
JPEG compression. Each part is one polygon in face coordinates, painted in z-order into the
photo (anti-aliased) and into the mask (hard labels, `facelib.core.scheme.SourceId`).

Left and right are the person's own: the person's left eye, eyebrow, eyelid and ear appear
on the image's right side; a horizontal flip swaps them.

Glasses are the frames (rims, bridge, arms) and, for sunglasses, the dark lenses; through
clear lenses the eyes keep their labels. The neck is background: the source scheme has no
neck class.

Any change to what is drawn must bump `facelib.data.synth.GENERATOR_VERSION`, which names
the cached datasets.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

from facelib.core.scheme import SourceId

SHIFT = 4  # fractional bits of polygon coordinates
DEPTH = 0.6  # how far the face surface bulges towards the camera, in face half-heights

# Person's left (image right, x > 0) and right (x < 0) parts.
EYEBROW = {1: SourceId.LEFT_EYEBROW, -1: SourceId.RIGHT_EYEBROW}
EYE = {1: SourceId.LEFT_EYE, -1: SourceId.RIGHT_EYE}
EYELID = {1: SourceId.LEFT_EYELID, -1: SourceId.RIGHT_EYELID}
EAR = {1: SourceId.LEFT_EAR, -1: SourceId.RIGHT_EAR}

@dataclass(frozen=True)
class Look:
    """What stays the same in every photo of a subject. Colours are BGR; sizes in face
    half-heights (chin to face centre = 1)."""

    skin: tuple
    hair: tuple
    iris: tuple
    lips: tuple
    hair_style: str  # short | fringe | long | bob | buzz | bald
    hair_volume: float
    hairline: float  # height of the hairline over the forehead (fringes reach the brows)
    hair_part: float
    ears_hidden: bool
    width: float
    cheek: float
    jaw: float
    chin: float
    eye_gap: float
    eye_size: float
    brow_thickness: float
    nose_width: float
    mouth_width: float
    glasses: str | None  # None | clear | sun
    glasses_round: bool
    glasses_color: tuple
    covering: str | None  # None | hat | scarf
    covering_color: tuple
    clothes: tuple


@dataclass(frozen=True)
class Pose:
    """One photo of a subject: size, where the face is and how it is turned and lit."""

    width: int
    height: int
    center: tuple
    scale: float  # pixels per face half-height
    roll: float
    yaw: float
    pitch: float
    mouth_open: float
    smile: float
    gaze: float
    light: tuple  # direction and strength of the light across the face
    blur: float
    noise: float
    jpeg_quality: int


def random_look(rng: np.random.Generator) -> Look:
    tone = rng.uniform(0, 1)
    skin = tuple(np.array([200, 215, 245]) * (1 - tone) + np.array([45, 70, 110]) * tone
                 + rng.normal(0, 8, 3))
    hair_base = [(20, 20, 25), (25, 45, 80), (40, 90, 150), (90, 160, 210), (160, 160, 165),
                 (30, 40, 140)][rng.choice(6, p=[.3, .25, .15, .12, .1, .08])]
    hair = tuple(np.clip(np.array(hair_base) + rng.normal(0, 10, 3), 0, 255))
    style = rng.choice(["short", "fringe", "long", "bob", "buzz", "bald"],
                       p=[.27, .15, .28, .15, .07, .08])
    glasses = rng.choice([None, "clear", "sun"], p=[.82, .13, .05])
    covering = rng.choice([None, "hat", "scarf"], p=[.88, .07, .05])
    return Look(
        skin=skin, hair=hair, lips=tuple(np.array(skin) * [0.75, 0.6, 0.95] + [10, 5, 0]),
        iris=tuple(rng.choice([(30, 60, 110), (20, 35, 60), (140, 110, 60), (90, 130, 90)])),
        hair_style=str(style), hair_volume=rng.uniform(0.06, 0.22),
        hairline=rng.uniform(-0.5, -0.37) if style == "fringe" else rng.uniform(-0.72, -0.55),
        hair_part=rng.uniform(-0.3, 0.3),
        ears_hidden=bool(style in ("long", "bob") and rng.random() < 0.7),
        width=rng.uniform(0.7, 0.82), cheek=rng.uniform(0.95, 1.04), jaw=rng.uniform(0.72, 0.9),
        chin=rng.uniform(0.22, 0.4), eye_gap=rng.uniform(0.27, 0.33),
        eye_size=rng.uniform(0.13, 0.16), brow_thickness=rng.uniform(0.035, 0.065),
        nose_width=rng.uniform(0.1, 0.15), mouth_width=rng.uniform(0.2, 0.28),
        glasses=glasses, glasses_round=bool(rng.random() < 0.4),
        glasses_color=tuple(rng.choice([(20, 20, 20), (40, 60, 120), (160, 160, 170)])),
        covering=covering, covering_color=tuple(rng.uniform(20, 230, 3)),
        clothes=tuple(rng.uniform(20, 230, 3)),
    )


def random_pose(rng: np.random.Generator, portrait: bool) -> Pose:
    long_side, ratio = rng.integers(420, 901), rng.uniform(1.15, 1.6)
    width, height = long_side, max(320, int(long_side / ratio))
    if portrait:
        width, height = height, width
    scale = min(rng.uniform(0.30, 0.42) * height, width / 2.5)
    center = (rng.uniform(1.2 * scale, width - 1.2 * scale),
              rng.uniform(max(1.25 * scale, 0.4 * height), max(1.3 * scale, 0.6 * height)))
    angle = rng.uniform(0, 2 * np.pi)
    return Pose(
        width=int(width), height=int(height), center=center, scale=scale,
        roll=rng.normal(0, 0.12), yaw=rng.uniform(-0.5, 0.5), pitch=rng.uniform(-0.12, 0.12),
        mouth_open=rng.uniform(0.03, 0.13) if rng.random() < 0.35 else 0.0,
        smile=rng.uniform(-0.04, 0.02), gaze=rng.uniform(-0.5, 0.5),
        light=(np.cos(angle) * rng.uniform(0.1, 0.4), np.sin(angle) * rng.uniform(0.1, 0.4)),
        blur=rng.uniform(0, 1.3), noise=rng.uniform(1, 7), jpeg_quality=int(rng.integers(75, 96)),
    )


def smooth(points, rounds: int = 3) -> np.ndarray:
    """Chaikin corner cutting: a smooth closed outline inside a control polygon."""
    points = np.asarray(points, dtype=float)
    for _ in range(rounds):
        following = np.roll(points, -1, axis=0)
        points = np.stack([0.75 * points + 0.25 * following, 0.25 * points + 0.75 * following],
                          1).reshape(-1, 2)
    return points


def ellipse(cx, cy, rx, ry, angle=0.0, start=0.0, end=2 * np.pi, n=32) -> np.ndarray:
    t = np.linspace(start, end, n, endpoint=end - start < 2 * np.pi)
    x, y = rx * np.cos(t), ry * np.sin(t)
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([cx + c * x - s * y, cy + s * x + c * y], 1)


def mirrored(right_side) -> np.ndarray:
    """A closed outline from its right half, listed top to bottom."""
    right = np.asarray(right_side, dtype=float)
    return np.vstack([right, (right[-2:0:-1] * [-1, 1])])


class Canvas:
    """A photo and its label map, painted part by part with the same polygons."""

    def __init__(self, image: np.ndarray, look: Look, pose: Pose):
        self.image, self.look, self.pose = image, look, pose
        self.mask = np.zeros(image.shape[:2], np.uint8)
        self.labels = {int(SourceId.BACKGROUND)}

    def project(self, points, lift: float = 0.0) -> np.ndarray:
        """Face coordinates -> pixels: on the face's surface (+ lift), turned, rolled, placed."""
        p, w = self.pose, self.look.width
        x, y = points[:, 0], points[:, 1]
        z = DEPTH * np.sqrt(np.clip(1 - (x / (1.05 * w)) ** 2 - (y / 1.1) ** 2, 0, 1)) + lift
        x = x * np.cos(p.yaw) + z * np.sin(p.yaw)
        y = y * np.cos(p.pitch) - z * np.sin(p.pitch)
        c, s = np.cos(p.roll), np.sin(p.roll)
        return np.stack([p.center[0] + p.scale * (c * x - s * y),
                         p.center[1] + p.scale * (s * x + c * y)], 1)

    def fixed(self, polygon, lift: float) -> np.ndarray:
        """Pixel coordinates with SHIFT fractional bits, as OpenCV's drawing wants them."""
        pixels = self.project(np.asarray(polygon, float), lift)
        return np.round(pixels * (1 << SHIFT)).astype(np.int32)

    def paint(self, polygon, label, color, lift=0.0, texture=None, opacity=1.0, clip=None,
              holes=()):
        """Paint a polygon (face coordinates, minus `holes`) into the photo, and into the
        mask unless `label` is None. `texture(x0, y0, w, h)` gives a gain image; `clip` is a
        polygon the paint stays inside."""
        contours = [self.fixed(p, lift) for p in (polygon, *holes)]
        if label is not None:
            cv2.fillPoly(self.mask, contours, int(label), cv2.LINE_8, SHIFT)
            self.labels.add(int(label))
        height, width = self.mask.shape
        x0, y0 = np.maximum((contours[0].min(0) >> SHIFT) - 1, 0)
        x1, y1 = np.minimum((contours[0].max(0) >> SHIFT) + 2, [width, height])
        if x1 <= x0 or y1 <= y0:
            return
        offset = np.array([x0, y0]) << SHIFT
        alpha = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(alpha, [c - offset for c in contours], 255, cv2.LINE_AA, SHIFT)
        alpha = alpha.astype(np.float32) * (opacity / 255)
        if clip is not None:
            inside = np.zeros_like(alpha, dtype=np.uint8)
            cv2.fillPoly(inside, [self.fixed(clip, lift) - offset], 255, cv2.LINE_AA, SHIFT)
            alpha *= inside / np.float32(255)
        paint = np.broadcast_to(np.float32(color), (*alpha.shape, 3))
        if texture is not None:
            paint = paint * texture(x0, y0, x1 - x0, y1 - y0)[..., None]
        region = self.image[y0:y1, x0:x1]
        region += (paint - region) * alpha[..., None]

    def line(self, points, color, thickness: float, lift: float = 0.0) -> None:
        """An anti-aliased stroke in the photo only (creases, lashes)."""
        width = max(1, int(round(thickness * self.pose.scale)))
        cv2.polylines(self.image, [self.fixed(points, lift)], False, tuple(map(float, color)),
                      width, cv2.LINE_AA, SHIFT)

    def shading(self, strength: float = 0.35):
        """Gain of a round surface lit from the pose's light direction."""
        pose = self.pose

        def texture(x0, y0, w, h):
            xs = (np.arange(x0, x0 + w, dtype=np.float32) - pose.center[0]) / (1.2 * pose.scale)
            ys = (np.arange(y0, y0 + h, dtype=np.float32) - pose.center[1]) / (1.4 * pose.scale)
            r2 = np.minimum(xs[None, :] ** 2 + ys[:, None] ** 2, 1.5)
            lit = 1 + pose.light[0] * xs[None, :] + pose.light[1] * ys[:, None]
            return lit - strength * r2

        return texture

    def streaks(self, rng: np.random.Generator, amount: float = 0.2):
        """Gain of hair or cloth: vertical strands over the round shading."""
        shading = self.shading(0.3)

        def texture(x0, y0, w, h):
            noise = rng.standard_normal((h, w)).astype(np.float32)
            length = max(3, int(self.pose.scale * 0.3)) | 1
            strands = cv2.GaussianBlur(noise, (3, length), 0) * np.sqrt(length)
            return shading(x0, y0, w, h) * (1 + amount * np.clip(strands, -2, 2))

        return texture


def face_outline(look: Look) -> np.ndarray:
    w = look.width
    return smooth(mirrored([(0, -1), (0.6 * w, -0.93), (0.93 * w, -0.65), (w, -0.25),
                            (w * look.cheek, 0.15), (w * look.jaw, 0.62), (w * look.chin, 0.93),
                            (0, 1.0)]))


def draw_clothes(canvas: Canvas) -> None:
    clothes = [(-2.6, 4), (-2.4, 1.55), (-0.8, 1.2), (0, 1.45), (0.8, 1.2), (2.4, 1.55),
               (2.6, 4)]
    canvas.paint(smooth(clothes), SourceId.BACKGROUND, canvas.look.clothes, lift=-0.3,
                 texture=canvas.shading(0.1))


def draw_neck(canvas: Canvas) -> None:
    look = canvas.look
    w = look.width
    neck = mirrored([(0, 0.5), (0.45 * w, 0.5), (0.5 * w, 1.3), (0.75 * w, 1.6), (0, 1.8)])
    canvas.paint(neck, SourceId.BACKGROUND, np.array(look.skin) * 0.8, lift=-0.3,
                 texture=canvas.shading(0.1))


def draw_hair_back(canvas: Canvas, rng) -> None:
    look = canvas.look
    if look.hair_style not in ("long", "bob"):
        return
    w, v = look.width, look.hair_volume
    bottom = 1.7 if look.hair_style == "long" else 0.75
    ends = [(x, bottom + rng.uniform(-0.15, 0.15))
            for x in np.linspace(1.2 * w + v, -1.2 * w - v, 6)]
    back = [(0, -1.05 - v), (0.8 * w, -0.95 - v), (1.1 * w + v, -0.3), (1.15 * w + v, 0.5),
            *ends, (-1.15 * w - v, 0.5), (-1.1 * w - v, -0.3), (-0.8 * w, -0.95 - v)]
    canvas.paint(smooth(back), SourceId.HAIR, np.array(look.hair) * 0.7, lift=-0.6,
                 texture=canvas.streaks(rng))


def draw_ears(canvas: Canvas) -> None:
    look = canvas.look
    for side in (1, -1):
        x = side * look.width * 0.97
        canvas.paint(ellipse(x, 0.0, 0.13, 0.21, angle=-side * 0.15), EAR[side],
                     np.array(look.skin) * 0.92, lift=-0.25, texture=canvas.shading(0.1))
        start = -1.6 if side > 0 else np.pi - 1.6
        helix = ellipse(x + side * 0.03, 0.0, 0.06, 0.13, start=start, end=start + 3.2, n=12)
        canvas.line(helix, np.array(look.skin) * 0.6, 0.015, lift=-0.25)


def draw_face(canvas: Canvas) -> None:
    skin = canvas.look.skin
    canvas.paint(face_outline(canvas.look), SourceId.FACE_SKIN, skin, texture=canvas.shading())
    for side in (1, -1):
        blush = ellipse(side * 0.45, 0.22, 0.17, 0.11)
        canvas.paint(blush, None, np.array(skin) * [0.85, 0.85, 1.05], opacity=0.15)


def draw_nose(canvas: Canvas) -> None:
    look, pose = canvas.look, canvas.pose
    nw = look.nose_width
    outline = smooth(mirrored([(0, -0.16), (0.045, -0.14), (0.06, 0.04), (0.8 * nw, 0.17),
                               (nw, 0.25), (0.7 * nw, 0.31), (0, 0.3)]), rounds=2)
    dark = np.array(look.skin) * 0.82
    canvas.paint(outline, SourceId.NOSE, look.skin, lift=0.12, texture=canvas.shading())
    shadow_side = -1 if pose.light[0] > 0 else 1
    flank = [(shadow_side * 0.02, -0.12), (shadow_side * 0.06, 0.04),
             (shadow_side * nw, 0.25), (shadow_side * 0.04, 0.2)]
    canvas.paint(smooth(flank), None, dark, lift=0.12, opacity=0.6, clip=outline)
    canvas.paint(ellipse(0, 0.2, 0.025, 0.05), None, np.minimum(np.array(look.skin) * 1.15,
                 255), lift=0.14, opacity=0.5)
    for side in (1, -1):
        canvas.paint(ellipse(side * 0.45 * nw, 0.275, 0.03, 0.013, angle=side * 0.3), None,
                     np.array(look.skin) * 0.4, lift=0.12, opacity=0.85)
        crease = ellipse(0.8 * nw, 0.22, 0.05, 0.07, start=-2.2, end=0.8, n=10) * [side, 1]
        canvas.line(crease, dark * 0.9, 0.01, lift=0.12)


def draw_eye(canvas: Canvas, side: int) -> None:
    look, pose = canvas.look, canvas.pose
    cx, cy, ew = side * look.eye_gap, -0.17, look.eye_size
    eh = ew * 0.4
    t = np.linspace(-1, 1, 15)
    tilt = -0.15 * eh * t * side
    upper = np.stack([cx + ew * t, cy - eh * (1 - t ** 2) ** 0.7 + tilt], 1)
    lower = np.stack([cx + ew * t, cy + 0.75 * eh * (1 - t ** 2) ** 0.9 + tilt], 1)
    eye = np.vstack([upper, lower[::-1][1:-1]])
    taper = np.sqrt(1 - t ** 2)[:, None] * [0, eh]
    upper_lid = np.vstack([upper, (upper - 0.8 * taper)[::-1]])
    lower_lid = np.vstack([lower, (lower + 0.35 * taper)[::-1]])
    skin = np.array(look.skin)
    canvas.paint(upper_lid, EYELID[side], skin * 0.85, lift=0.02, texture=canvas.shading())
    canvas.paint(lower_lid, EYELID[side], skin * 0.9, lift=0.02, texture=canvas.shading())
    canvas.paint(eye, EYE[side], (225, 230, 235), lift=0.02)
    iris_x = cx + pose.gaze * ew * 0.35
    canvas.paint(ellipse(iris_x, cy + 0.1 * eh, 1.15 * eh, 1.15 * eh), None, look.iris,
                 lift=0.02, clip=eye)
    canvas.paint(ellipse(iris_x, cy + 0.1 * eh, 0.5 * eh, 0.5 * eh), None, (15, 15, 15),
                 lift=0.02, clip=eye)
    canvas.paint(ellipse(iris_x + 0.3 * eh, cy - 0.25 * eh, 0.2 * eh, 0.2 * eh), None,
                 (250, 250, 250), lift=0.03, opacity=0.8, clip=eye)
    canvas.line(upper, (25, 20, 20), 0.012, lift=0.02)


def draw_eyebrow(canvas: Canvas, side: int) -> None:
    look = canvas.look
    t = np.linspace(0, 1, 12)
    x = side * (look.eye_gap - 0.13 + 0.3 * t)
    y = -0.34 - 0.05 * np.sin(np.pi * t ** 0.8)
    half = look.brow_thickness * (1 - 0.6 * t) / 2
    brow = np.vstack([np.stack([x, y - half], 1), np.stack([x, y + half], 1)[::-1]])
    color = np.array(look.hair) * 0.8 + np.array(look.skin) * 0.2
    canvas.paint(brow, EYEBROW[side], color, lift=0.03, opacity=0.9)


def draw_mouth(canvas: Canvas) -> None:
    look, pose = canvas.look, canvas.pose
    t = np.linspace(-1, 1, 21)
    mw, my, opening = look.mouth_width, 0.55, pose.mouth_open
    line = np.stack([mw * t, my + pose.smile * t ** 2], 1)
    bow = (1 - t ** 2) ** 0.6 * (1 - 0.3 * np.exp(-(t * 7) ** 2))
    top = line - np.stack([0 * t, 0.06 * bow], 1)
    upper_inner = line - np.stack([0 * t, 0.2 * opening * (1 - t ** 2)], 1)
    lower_inner = line + np.stack([0 * t, opening * (1 - t ** 2) ** 0.8], 1)
    bottom = lower_inner + np.stack([0 * t, 0.08 * (1 - t ** 2) ** 0.6], 1)
    lips = np.array(look.lips)
    if opening > 0:
        interior = np.vstack([upper_inner, lower_inner[::-1][1:-1]])
        canvas.paint(interior, SourceId.MOUTH_INTERIOR, (30, 25, 60), lift=0.05)
        teeth = np.vstack([upper_inner, (upper_inner + [0, 0.45 * opening])[::-1]])
        canvas.paint(teeth, None, (215, 225, 230), lift=0.05, clip=interior)
    canvas.paint(np.vstack([top, upper_inner[::-1][1:-1]]), SourceId.UPPER_LIP, lips * 0.9,
                 lift=0.05, texture=canvas.shading())
    canvas.paint(np.vstack([lower_inner, bottom[::-1][1:-1]]), SourceId.LOWER_LIP, lips,
                 lift=0.05, texture=canvas.shading())
    canvas.line(upper_inner, lips * 0.5, 0.008, lift=0.05)


def draw_hair_front(canvas: Canvas, rng) -> None:
    look = canvas.look
    style, w, v = look.hair_style, look.width, look.hair_volume
    if style == "bald":
        crown = smooth(mirrored([(0, -1.0), (0.6 * w, -0.93), (0.85 * w, -0.7), (0.5 * w, -0.6),
                                 (0, -0.58)]))
        canvas.paint(crown, SourceId.BALD_PATCH, look.skin, texture=canvas.shading(0.1))
        canvas.paint(ellipse(0.15, -0.85, 0.2, 0.07), None, (250, 250, 250), opacity=0.25)
        for side in (1, -1):
            ring = [(side * 0.82 * w, -0.7), (side * 1.07 * w, -0.5), (side * 1.08 * w, -0.1),
                    (side * 0.95 * w, -0.15), (side * 0.9 * w, -0.55)]
            canvas.paint(smooth(ring), SourceId.HAIR, look.hair, texture=canvas.streaks(rng))
        return
    side_bottom, side_width = (0.7, 0.15 + v) if look.ears_hidden else (-0.25, v / 2)
    hairline, part = look.hairline, look.hair_part
    cap = [(0, -1.0 - v), (0.7 * w, -0.97 - v), (1.03 * w + v / 2, -0.55),
           (1.05 * w + side_width, side_bottom), (0.9 * w, side_bottom), (0.88 * w, -0.45),
           (0.6 * w, hairline), (part * w, hairline - (0.12 if style != "fringe" else 0)),
           (-0.6 * w, hairline), (-0.88 * w, -0.45), (-0.9 * w, side_bottom),
           (-1.05 * w - side_width, side_bottom), (-1.03 * w - v / 2, -0.55),
           (-0.7 * w, -0.97 - v)]
    buzz = style == "buzz"
    canvas.paint(smooth(cap, rounds=2), SourceId.HAIR, look.hair, lift=0.02,
                 texture=canvas.streaks(rng, 0.15 if buzz else 0.3), opacity=0.7 if buzz else 1)


def draw_glasses(canvas: Canvas) -> None:
    look = canvas.look
    if look.glasses is None:
        return
    rx, ry = look.eye_size * 1.75, look.eye_size * 1.2
    rim = 0.028
    for side in (1, -1):
        cx, cy = side * look.eye_gap, -0.16
        if look.glasses_round:
            outer, inner = ellipse(cx, cy, rx, ry), ellipse(cx, cy, rx - rim, ry - rim)
        else:
            box = [(cx - rx, cy - ry), (cx + rx, cy - ry), (cx + rx, cy + ry), (cx - rx, cy + ry)]
            outer = smooth(box, rounds=3)
            inner = smooth([(x - np.sign(x - cx) * rim, y - np.sign(y - cy) * rim)
                            for x, y in box], rounds=3)
        if look.glasses == "sun":
            canvas.paint(outer, SourceId.GLASSES, (25, 25, 20), lift=0.12)
        else:
            canvas.paint(outer, SourceId.GLASSES, look.glasses_color, lift=0.12, holes=[inner])
            canvas.paint(inner, None, (255, 240, 230), lift=0.12, opacity=0.12)
        arm = [(side * (look.eye_gap + rx), cy - 0.7 * ry), (side * 0.98 * look.width, -0.2),
               (side * 0.98 * look.width, -0.2 + rim), (side * (look.eye_gap + rx), cy - 0.55 * ry)]
        canvas.paint(arm, SourceId.GLASSES, look.glasses_color, lift=0.08)
    inner_edge = look.eye_gap - rx + rim / 2
    bridge = [(-inner_edge, -0.2), (inner_edge, -0.2), (inner_edge, -0.2 + rim),
              (-inner_edge, -0.2 + rim)]
    canvas.paint(bridge, SourceId.GLASSES, look.glasses_color, lift=0.2)


def draw_covering(canvas: Canvas, rng) -> None:
    look = canvas.look
    w, color = look.width, look.covering_color
    if look.covering == "hat":
        crown = smooth(mirrored([(0, -1.6), (0.85 * w, -1.5), (1.0 * w, -0.8), (0, -0.8)]))
        brim = ellipse(0, -0.78, 1.45 * w, 0.14)
        canvas.paint(crown, SourceId.HEAD_COVERING, color, lift=0.05, texture=canvas.shading(0.1))
        canvas.paint(brim, SourceId.HEAD_COVERING, np.array(color) * 0.8, lift=0.05,
                     texture=canvas.shading(0.1))
    elif look.covering == "scarf":
        outer = smooth([(0, 1.6), (-1.6 * w, 1.5), (-1.35 * w, -0.4), (-0.8 * w, -1.25),
                        (0, -1.35), (0.8 * w, -1.25), (1.35 * w, -0.4), (1.6 * w, 1.5)])
        opening = ellipse(0, 0.1, 0.92 * w, 0.82, n=40)
        canvas.paint(outer, SourceId.HEAD_COVERING, color, texture=canvas.streaks(rng, 0.05),
                     holes=[opening])


def draw_background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A cluttered room-like backdrop: gradient, blotchy texture, random shapes."""
    angle = rng.uniform(0, 2 * np.pi)
    xs = np.linspace(0, np.cos(angle), width, dtype=np.float32)
    ys = np.linspace(0, np.sin(angle), height, dtype=np.float32)
    ramp = (xs[None, :] + ys[:, None])[..., None]
    base = rng.uniform(40, 210) + rng.uniform(-50, 50, 3) * rng.uniform(0.2, 1)
    image = base.astype(np.float32) + ramp * rng.uniform(-60, 60, 3)
    blotches = rng.normal(0, 25, (rng.integers(3, 9), rng.integers(3, 9), 3)).astype(np.float32)
    image = image + cv2.resize(blotches, (width, height), interpolation=cv2.INTER_CUBIC)
    for _ in range(rng.integers(4, 14)):
        color = tuple(float(c) for c in rng.uniform(0, 255, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = int(rng.integers(10, max(11, width // 3)))
        kind = rng.integers(4)
        if kind == 0:
            cv2.rectangle(image, (x, y), (x + size, y + int(size * rng.uniform(0.3, 3))), color,
                          -1 if rng.random() < 0.7 else 3, cv2.LINE_AA)
        elif kind == 1:
            cv2.circle(image, (x, y), size // 2, color, -1, cv2.LINE_AA)
        elif kind == 2:
            end = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            cv2.line(image, (x, y), end, color, int(rng.integers(2, 12)), cv2.LINE_AA)
        else:
            points = rng.integers(-size, size, (int(rng.integers(3, 7)), 2)) + [x, y]
            cv2.fillPoly(image, [points.astype(np.int32)], color, cv2.LINE_AA)
    if rng.random() < 0.6:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(1, 4))
    return np.ascontiguousarray(image)


def finish_photo(image: np.ndarray, pose: Pose, rng: np.random.Generator) -> np.ndarray:
    """Lighting gradient and colour cast, lens blur, sensor noise; BGR uint8."""
    height, width = image.shape[:2]
    angle = rng.uniform(0, 2 * np.pi)
    xs = np.linspace(-0.5, 0.5, width, dtype=np.float32) * np.cos(angle)
    ys = np.linspace(-0.5, 0.5, height, dtype=np.float32) * np.sin(angle)
    gain = (1 + rng.uniform(0.1, 0.7) * (xs[None, :] + ys[:, None])) * rng.uniform(0.75, 1.2)
    image = image * gain[..., None] * rng.uniform(0.9, 1.1, 3).astype(np.float32)
    if pose.blur > 0.3:
        image = cv2.GaussianBlur(image, (0, 0), pose.blur)
    image += rng.standard_normal(image.shape, dtype=np.float32) * pose.noise
    return np.clip(image, 0, 255).astype(np.uint8)


def draw_sample(look: Look, pose: Pose, rng: np.random.Generator):
    """One photo (BGR uint8), its label map (uint8 source ids) and the labels painted."""
    canvas = Canvas(draw_background(rng, pose.width, pose.height), look, pose)
    draw_person(canvas, rng)
    return finish_photo(canvas.image, pose, rng), canvas.mask, canvas.labels


def draw_person(canvas: Canvas, rng: np.random.Generator) -> None:
    """Every part of the canvas's person, back to front."""
    draw_hair_back(canvas, rng)
    draw_neck(canvas)
    draw_clothes(canvas)
    draw_ears(canvas)
    draw_face(canvas)
    draw_nose(canvas)
    for side in (1, -1):
        draw_eye(canvas, side)
        draw_eyebrow(canvas, side)
    draw_mouth(canvas)
    draw_hair_front(canvas, rng)
    draw_glasses(canvas)
    draw_covering(canvas, rng)


def draw_people(looks: list[Look], poses: list[Pose], rng: np.random.Generator):
    """`draw_sample` for several people in one photo (the first pose's size, blur, noise),
    painted in the order given into one photo and one label map."""
    first = poses[0]
    image = draw_background(rng, first.width, first.height)
    mask = np.zeros(image.shape[:2], np.uint8)
    labels = {SourceId.BACKGROUND}
    for look, pose in zip(looks, poses, strict=True):
        canvas = Canvas(image, look, pose)
        canvas.mask, canvas.labels = mask, labels
        draw_person(canvas, rng)
    return finish_photo(image, first, rng), mask, labels


def small_face_pose(pose: Pose, rng: np.random.Generator) -> Pose:
    """`pose` with a face half-height of 10-20% of the photo's height, anywhere it fits."""
    scale = min(rng.uniform(0.10, 0.20) * pose.height, pose.width / 2.5)
    center = (rng.uniform(1.2 * scale, pose.width - 1.2 * scale),
              rng.uniform(1.25 * scale, pose.height - 1.3 * scale))
    return replace(pose, scale=scale, center=center)


def group_poses(pose: Pose, count: int, rng: np.random.Generator) -> list[Pose]:
    """`count` people side by side in the photo of `pose`, faces apart (centres at least 2.6
    face half-heights apart, so no hair or face covers another's face)."""
    slot = pose.width / count
    top = min(rng.uniform(0.12, 0.25) * pose.height, slot / 2.6)
    poses = []
    for index in range(count):
        scale = top * rng.uniform(0.8, 1.0)
        other = random_pose(rng, portrait=pose.height > pose.width)
        x = slot * (index + 0.5) + rng.uniform(-0.5, 0.5) * (slot - 2.6 * scale) / 2
        y = rng.uniform(max(1.25 * scale, 0.35 * pose.height),
                        max(1.3 * scale, min(0.6 * pose.height, pose.height - 1.3 * scale)))
        poses.append(replace(other, width=pose.width, height=pose.height, center=(x, y),
                             scale=scale, blur=pose.blur, noise=pose.noise,
                             jpeg_quality=pose.jpeg_quality))
    return poses
