"""Charts drawn on the server as SVG, for the supervisor dashboard and the printed summaries.

Our own rather than a library or vendored JavaScript: one markup serves the browser and the PDF, needs no script,
mirrors the time axis for Arabic (the earliest date at the right), and tells series apart by hatching, dashes and
markers as well as colour, so a black-and-white print still reads. Each chart is an <svg role="img"> with a title and
a description; `data_table` gives the same numbers as a table for screen readers. Labels come from the database, so
they reach the markup only through markupsafe, which escapes them. The same input gives the same bytes.
"""
import datetime as dt
import functools
import hashlib
import math
from decimal import ROUND_CEILING, Decimal

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.lists import format_list
from babel.numbers import format_decimal
from flask_babel import force_locale, gettext, lazy_gettext as _l
from markupsafe import Markup

WIDTH, HEIGHT, MARGIN = 640, 300, 8
FONT = 15  # user units: the viewBox scales text with the chart
CHAR = 0.56 * FONT  # a generous average advance, Latin or Arabic; layout only needs to avoid collisions
AXIS, GRID = "#505a66", "#d5dbe2"
CATEGORICAL = ("#0b5ea8", "#c2500a", "#1b7a55", "#7b3f98", "#5b6570", "#8a6400")
SLA = ("#2f7d4a", "#b36b00", "#a4161a", "#5b6570")  # on track, at risk, overdue, clock paused: the SLA badges
_PATTERNS = ("solid", "diagonal", "cross", "dots", "horizontal", "antidiagonal")
_DASHES = (None, "9 4", "2 3", "10 3 2 3", "5 5", "1 3")
_MARKERS = ("circle", "square", "triangle", "diamond", "circle", "square")
_MAX_MARKED_POINTS = 31  # beyond a month of days, markers crowd the line; the dash still tells series apart

NO_DATA = _l("No data for this period")
_KINDS = {"line": _l("Line chart of %(series)s."), "stacked": _l("Stacked bar chart of %(series)s."),
          "bars": _l("Bar chart of %(series)s.")}


def nice_ticks(highest, count=5):
    """Ticks from zero in steps of 1, 2 or 5 times a power of ten, the last at or above `highest` (what a person
    would draw by hand); a whole-number maximum never gets a fractional step."""
    highest = Decimal(str(highest))
    if highest <= 0:
        return [Decimal(0), Decimal(1)]
    raw = highest / count
    magnitude = Decimal(10) ** raw.adjusted()
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    if highest == highest.to_integral_value():
        step = max(step, Decimal(1))
    steps = int((highest / step).to_integral_value(rounding=ROUND_CEILING))
    return [step * i for i in range(steps + 1)]


def _coordinate(value):
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _tag(name, children=(), **attributes):
    """One element; markupsafe escapes attribute values and text children (Markup children pass as they are)."""
    attrs = Markup("").join(
        Markup(' {}="{}"').format(key.rstrip("_").replace("_", "-"),
                                  _coordinate(value) if isinstance(value, float) else value)
        for key, value in attributes.items() if value is not None)
    if isinstance(children, str):
        children = [children]
    if not children:
        return Markup("<{}{}/>").format(Markup(name), attrs)
    return Markup("<{0}{1}>{2}</{0}>").format(Markup(name), attrs, Markup("").join(children))


def _width(text):
    return len(text) * CHAR


def _wrap(text, room, lines=2):
    """At most `lines` lines that fit `room`, the last cut with an ellipsis if need be (the table keeps it whole)."""
    rows = []
    for word in text.split():
        if rows and _width(f"{rows[-1]} {word}") <= room:
            rows[-1] = f"{rows[-1]} {word}"
        else:
            rows.append(word)
    rows = rows[:lines - 1] + [" ".join(rows[lines - 1:])] if len(rows) > lines else rows or [""]
    if _width(rows[-1]) > room:
        rows[-1] = rows[-1][:max(1, int(room / CHAR) - 1)].rstrip() + "…"
    return rows


def _localised(draw):
    """Translate the chart's words into the language its numbers are formatted in (a no-op outside an app)."""
    @functools.wraps(draw)
    def in_locale(*args, locale, **kwargs):
        with force_locale(locale):
            return draw(*args, locale=locale, **kwargs)
    return in_locale


class _Chart:
    """What every chart shares: numbers and dates in the reader's locale, a stable id, the mirror for right to left,
    the value axis, the legend, and the <svg> around the shapes. Shapes are placed in logical coordinates (x from the
    inline start) and mirrored on the way out; text anchors stay logical and flip with the svg's `direction`."""

    def __init__(self, kind, labels, series, *, title, locale, rtl=None, chart_id=None, description=None,
                 palette=CATEGORICAL, date_skeleton="MMMd", x_title=None, y_title=None):
        self.labels, self.locale, self.palette = list(labels), locale, palette
        # the axes' names, in the reader's language (drawn only when given): what runs along and what is counted
        self.x_title, self.y_title = (str(x_title) if x_title else None), (str(y_title) if y_title else None)
        self.rtl = Locale.parse(locale).text_direction == "rtl" if rtl is None else rtl
        self.series = [(str(name), [Decimal(str(v)) for v in values]) for name, values in series]
        if any(len(values) != len(self.labels) for _name, values in self.series):
            raise ValueError("every series needs one value per label")
        if any(v < 0 for _name, values in self.series for v in values):
            raise ValueError("charts show counts and durations: no value may be negative")
        self.empty = not self.labels or not self.series
        self.title = str(title)
        fingerprint = repr((kind, self.title, [str(x) for x in self.labels], self.series, locale, self.rtl))
        self.id = chart_id or "chart-" + hashlib.sha1(fingerprint.encode()).hexdigest()[:10]
        self.axis_labels = [format_skeleton(date_skeleton, x, locale=locale) if isinstance(x, dt.date) else str(x)
                            for x in self.labels]
        self.dated = bool(self.labels) and all(isinstance(x, dt.date) for x in self.labels)
        self.description = str(description) if description else self._describe(kind)
        self.patterns, self.shapes = {}, []

    def _describe(self, kind):
        if self.empty:
            return str(NO_DATA)
        names = format_list([name for name, _values in self.series], locale=self.locale)
        sentences = [str(_KINDS[kind]) % {"series": names}]
        if self.dated:
            first, last = (format_date(x, "long", locale=self.locale) for x in (self.labels[0], self.labels[-1]))
            sentences.append(gettext("From %(first)s to %(last)s.", first=first, last=last))
        value, at = max((v, -i) for _name, values in self.series for i, v in enumerate(values))
        at = -at  # the first label where the highest value occurs
        label = format_date(self.labels[at], "long", locale=self.locale) if self.dated else self.axis_labels[at]
        sentences.append(gettext("Highest value: %(value)s (%(label)s).", value=self.number(value), label=label))
        return " ".join(sentences)

    def number(self, value):
        return format_decimal(value, locale=self.locale)

    def x(self, x):
        return WIDTH - x if self.rtl else x

    def rect(self, x, y, width, height, **attrs):
        left = WIDTH - x - width if self.rtl else x
        self.shapes.append(_tag("rect", x=left, y=y, width=width, height=height, **attrs))

    def line(self, x1, y1, x2, y2, **attrs):
        self.shapes.append(_tag("line", x1=self.x(x1), y1=y1, x2=self.x(x2), y2=y2, **attrs))

    def text(self, x, y, lines, anchor="middle", whole=None, **attrs):
        """Text at logical x; several lines are centred on y; `whole` (a cut label) shows on hover."""
        if len(lines) == 1:
            children = [lines[0]]
        else:
            children = [_tag("tspan", line, x=self.x(x), dy=f"{1.2 if i else -0.6 * (len(lines) - 1):.1f}em")
                        for i, line in enumerate(lines)]
        if whole and " ".join(lines) != " ".join(whole.split()):
            children.insert(0, _tag("title", whole))
        self.shapes.append(_tag("text", children, x=self.x(x), y=y, text_anchor=anchor, dy="0.35em",
                                fill="currentColor", **attrs))

    def fill(self, index):
        """The series' colour, hatched or dotted from the second series on (defined once per chart)."""
        colour, pattern = self.palette[index % len(self.palette)], _PATTERNS[index % len(_PATTERNS)]
        if pattern == "solid":
            return colour
        pattern_id = f"{self.id}-fill-{index}"
        if pattern_id not in self.patterns:
            marks = {"dots": [_tag("circle", cx=3.5, cy=3.5, r=1.6, fill="#fff")],
                     "cross": [_tag("line", x1=0, y1=0, x2=0, y2=7, stroke="#fff", stroke_width=2),
                               _tag("line", x1=0, y1=3.5, x2=7, y2=3.5, stroke="#fff", stroke_width=2)]}.get(
                pattern, [_tag("line", x1=0, y1=0, x2=0, y2=7, stroke="#fff", stroke_width=2.5)])
            turn = {"diagonal": 45, "cross": 45, "horizontal": 90, "antidiagonal": -45}.get(pattern, 0)
            self.patterns[pattern_id] = _tag("pattern", [_tag("rect", width=7, height=7, fill=colour), *marks],
                                             id=pattern_id, width=7, height=7, patternUnits="userSpaceOnUse",
                                             patternTransform=f"rotate({turn})")
        return f"url(#{pattern_id})"

    def marker(self, index, x, y, size=4.5):
        """A circle, square, triangle or diamond at logical (x, y), so lines differ even where they cross."""
        x, colour, s = self.x(x), self.palette[index % len(self.palette)], size
        d = {"circle": f"M{x - s:.2f},{y:.2f}a{s},{s} 0 1,0 {2 * s},0a{s},{s} 0 1,0 {-2 * s},0Z",
             "square": f"M{x - s:.2f},{y - s:.2f}h{2 * s}v{2 * s}h{-2 * s}Z",
             "triangle": f"M{x:.2f},{y - s * 1.2:.2f}l{s * 1.1:.2f},{s * 2:.2f}h{-s * 2.2:.2f}Z",
             "diamond": f"M{x:.2f},{y - s * 1.3:.2f}l{s * 1.3:.2f},{s * 1.3:.2f}l{-s * 1.3:.2f},{s * 1.3:.2f}"
                        f"l{-s * 1.3:.2f},{-s * 1.3:.2f}Z"}[_MARKERS[index % len(_MARKERS)]]
        self.shapes.append(_tag("path", d=d, fill=colour, stroke="#fff", stroke_width=1))

    def bar_swatch(self, index, x, y):
        self.rect(x, y - 7, 20, 14, fill=self.fill(index), stroke=AXIS, stroke_width=0.5, class_="chart-key")

    def line_swatch(self, index, x, y):
        colour = self.palette[index % len(self.palette)]
        self.line(x, y, x + 26, y, stroke=colour, stroke_width=2.5, stroke_dasharray=_DASHES[index % len(_DASHES)],
                  class_="chart-key")
        self.marker(index, x + 13, y)

    def legend(self, swatch):
        """The key, from the inline start in the series' order, wrapping when a row is full; returns its bottom."""
        if len(self.series) < 2:
            return MARGIN
        x, y = MARGIN, MARGIN + FONT / 2
        for index, (name, _values) in enumerate(self.series):
            item = 34 + _width(name) + 22
            if x > MARGIN and x + item > WIDTH - MARGIN:
                x, y = MARGIN, y + FONT * 1.8
            swatch(index, x, y)
            self.text(x + 34, y, [name], anchor="start")
            x += item
        return y + FONT * 1.6

    def value_axis(self, ticks, start, end, top, bottom):
        """Grid lines at the ticks across the plot, numbered at the inline start; sets the scale for `y`."""
        self.top_value, self.plot_top, self.plot_bottom = ticks[-1], top, bottom
        for tick in ticks:
            self.line(start, self.y(tick), end, self.y(tick), stroke=GRID, stroke_width=1)
            self.text(start - 8, self.y(tick), [self.number(tick)], anchor="end")

    def y(self, value):
        return self.plot_bottom - float(value / self.top_value) * (self.plot_bottom - self.plot_top)

    def category_labels(self, centres, top, spacing):
        """Labels hanging below `top`: dates thinned to every n-th so they never touch, other labels wrapped to two
        lines in their band."""
        if self.dated:
            every = max(1, math.ceil((max(map(_width, self.axis_labels)) + 12) / spacing))
            for index in range(0, len(centres), every):
                self.text(centres[index], top + FONT * 0.6, [self.axis_labels[index]])
            return
        for centre, label in zip(centres, self.axis_labels):
            lines = _wrap(label, spacing - 8)
            self.text(centre, top + FONT * 0.6 * len(lines), lines, whole=label)

    def svg(self, height):
        labelled = {"role": "img", "aria_labelledby": f"{self.id}-title", "aria_describedby": f"{self.id}-desc"}
        children = [_tag("title", self.title, id=f"{self.id}-title"),
                    _tag("desc", self.description, id=f"{self.id}-desc")]
        if self.patterns:
            children.append(_tag("defs", list(self.patterns.values())))
        return _tag("svg", children + self.shapes, xmlns="http://www.w3.org/2000/svg", id=self.id,
                    class_="chart-svg", viewBox=f"0 0 {WIDTH} {_coordinate(float(height))}", width="100%",
                    lang=self.locale, direction="rtl" if self.rtl else "ltr", font_family="inherit", font_size=FONT,
                    **labelled)

    def no_data(self):
        self.text(WIDTH / 2, 40, [str(NO_DATA)])
        return self.svg(80)


def _axis_titles(chart, top, bottom, along):
    """The value axis's name above the plot at the inline start (from `top`, returned moved down) and the other
    axis's name centred under its labels (at `bottom`), when the chart was given them."""
    if chart.y_title:
        chart.text(MARGIN, top + FONT / 2, _wrap(chart.y_title, WIDTH - 2 * MARGIN, 1), anchor="start",
                   class_="chart-axis-title", font_weight="600")
        top += FONT * 1.6
    if chart.x_title:
        start, end = along
        chart.text((start + end) / 2, bottom + FONT * 0.7, _wrap(chart.x_title, end - start, 1),
                   class_="chart-axis-title", font_weight="600")
    return top


def _x_title_room(chart):
    return FONT * 1.6 if chart.x_title else 0


def _vertical_frame(chart, ticks, *, swatch, label_lines=1, headroom=0):
    """Legend, axis titles, value axis and plot edges shared by the charts whose values rise: returns (start, end,
    bottom)."""
    top = chart.legend(swatch) + FONT / 2
    start = MARGIN + max(_width(chart.number(t)) for t in ticks) + 10
    end = WIDTH - MARGIN - (max(map(_width, chart.axis_labels)) / 2 if chart.dated else 0)
    bottom = HEIGHT - MARGIN - 6 - FONT * 1.2 * label_lines
    top = _axis_titles(chart, top, bottom + 6 + FONT * 1.2 * label_lines, (start, end)) + headroom
    chart.value_axis(ticks, start, end, top, bottom)
    return start, end, bottom


def _height(chart):
    return HEIGHT + _x_title_room(chart)


def _baseline(chart, start, end):
    chart.line(start, chart.plot_bottom, end, chart.plot_bottom, stroke=AXIS, stroke_width=1.5)


@_localised
def trend_chart(labels, series, **options):
    """Series over time as lines (received and completed per day, say), each with its own dash and marker;
    options: title, locale, rtl (from the locale if None), chart_id, description, palette, date_skeleton."""
    chart = _Chart("line", labels, series, **options)
    if chart.empty:
        return chart.no_data()
    ticks = nice_ticks(max(v for _name, values in chart.series for v in values))
    start, end, bottom = _vertical_frame(chart, ticks, swatch=chart.line_swatch)
    count = len(chart.labels)
    inset = 12
    spacing = (end - start - 2 * inset) / max(count - 1, 1)
    xs = [(start + end) / 2] if count == 1 else [start + inset + spacing * i for i in range(count)]
    chart.category_labels(xs, bottom + 6, spacing if count > 1 else end - start)
    for index, (_name, values) in enumerate(chart.series):
        points = " ".join(f"{chart.x(x):.2f},{chart.y(v):.2f}" for x, v in zip(xs, values))
        chart.shapes.append(_tag("polyline", points=points, fill="none", stroke_width=2.5, stroke_linejoin="round",
                                 stroke=chart.palette[index % len(chart.palette)],
                                 stroke_dasharray=_DASHES[index % len(_DASHES)]))
        if count <= _MAX_MARKED_POINTS:
            for x, v in zip(xs, values):
                chart.marker(index, x, chart.y(v))
        if count == 1:  # a lone marker says little without its number
            chart.text(xs[0] + 10, chart.y(values[0]), [chart.number(values[0])], anchor="start")
    _baseline(chart, start, end)
    return chart.svg(_height(chart))


@_localised
def stacked_bar_chart(labels, series, **options):
    """Parts of a whole over time (on track, at risk and overdue per day, say), the first series at the bottom;
    options as for `trend_chart` (`palette=SLA` for the SLA states)."""
    chart = _Chart("stacked", labels, series, **options)
    if chart.empty:
        return chart.no_data()
    totals = [sum(values[i] for _name, values in chart.series) for i in range(len(chart.labels))]
    ticks = nice_ticks(max(totals))
    start, end, bottom = _vertical_frame(chart, ticks, swatch=chart.bar_swatch)
    band = (end - start) / len(chart.labels)
    width = min(band * 0.7, 56)
    centres = [start + band * (i + 0.5) for i in range(len(chart.labels))]
    chart.category_labels(centres, bottom + 6, band)
    for i, centre in enumerate(centres):
        below = Decimal(0)
        for index, (_name, values) in enumerate(chart.series):
            if values[i]:
                top = chart.y(below + values[i])
                chart.rect(centre - width / 2, top, width, chart.y(below) - top, fill=chart.fill(index),
                           stroke="#fff", stroke_width=0.75)  # a white seam keeps neighbours apart in grey print
            below += values[i]
    _baseline(chart, start, end)
    return chart.svg(_height(chart))


@_localised
def histogram(labels, series, **options):
    """Counts per category as rising bars with their numbers on top (open items by age bucket, say); several series
    stand side by side; options as for `trend_chart`."""
    chart = _Chart("bars", labels, series, **options)
    if chart.empty:
        return chart.no_data()
    ticks = nice_ticks(max(v for _name, values in chart.series for v in values))
    start, end, bottom = _vertical_frame(chart, ticks, swatch=chart.bar_swatch, label_lines=2, headroom=FONT)
    band = (end - start) / len(chart.labels)
    width = min(band * 0.8, 72 * len(chart.series)) / len(chart.series)
    centres = [start + band * (i + 0.5) for i in range(len(chart.labels))]
    chart.category_labels(centres, bottom + 6, band)
    for i, centre in enumerate(centres):
        for index, (_name, values) in enumerate(chart.series):
            x = centre - width * len(chart.series) / 2 + width * index
            chart.rect(x, chart.y(values[i]), width - 2, chart.y(0) - chart.y(values[i]), fill=chart.fill(index))
            chart.text(x + width / 2 - 1, chart.y(values[i]) - FONT * 0.7, [chart.number(values[i])])
    _baseline(chart, start, end)
    return chart.svg(_height(chart))


@_localised
def bar_comparison(labels, series, **options):
    """Categories with long names compared as bars growing from the inline start (governorates by count, say),
    names wrapped beside their bars and numbers at the bars' ends; options as for `trend_chart`."""
    chart = _Chart("bars", labels, series, **options)
    if chart.empty:
        return chart.no_data()
    names = [_wrap(label, WIDTH * 0.3) for label in chart.axis_labels]
    lanes = len(chart.series)
    row = max(FONT * 1.25 * max(map(len, names)) + 12, 18 * lanes + 12)
    top = chart.legend(chart.bar_swatch) + FONT / 2
    if chart.y_title:  # here the categories' name, above them
        chart.text(MARGIN, top + FONT / 2, _wrap(chart.y_title, WIDTH - 2 * MARGIN, 1), anchor="start",
                   class_="chart-axis-title", font_weight="600")
        top += FONT * 1.6
    bottom = top + row * len(names)
    ticks = nice_ticks(max(v for _name, values in chart.series for v in values))
    start = MARGIN + max(_width(line) for lines in names for line in lines) + 10
    end = WIDTH - MARGIN - max(_width(chart.number(v)) for _name, values in chart.series for v in values) - 8
    for tick in ticks:
        x = start + float(tick / ticks[-1]) * (end - start)
        chart.line(x, top, x, bottom, stroke=GRID, stroke_width=1)
        chart.text(x, bottom + 6 + FONT * 0.6, [chart.number(tick)])
    thickness = (row - 12) / lanes
    for i, (label, lines) in enumerate(zip(chart.axis_labels, names)):
        chart.text(start - 8, top + row * (i + 0.5), lines, anchor="end", whole=label)
        for index, (_name, values) in enumerate(chart.series):
            y, length = top + row * i + 6 + thickness * index, float(values[i] / ticks[-1]) * (end - start)
            chart.rect(start, y, length, thickness - 2, fill=chart.fill(index))
            chart.text(start + length + 5, y + thickness / 2 - 1, [chart.number(values[i])], anchor="start")
    chart.line(start, top, start, bottom, stroke=AXIS, stroke_width=1.5)
    if chart.x_title:
        chart.text((start + end) / 2, bottom + 6 + FONT * 1.2 + FONT * 0.7, _wrap(chart.x_title, end - start, 1),
                   class_="chart-axis-title", font_weight="600")
    return chart.svg(bottom + 6 + FONT * 1.2 + MARGIN + _x_title_room(chart))


@_localised
def data_table(labels, series, *, caption, label_header, locale, date_format="medium"):
    """The chart's numbers as a table with a caption and scoped headers: a row per label, a column per series."""
    series = [(str(name), list(values)) for name, values in series]
    head = _tag("tr", [_tag("th", str(label_header), scope="col"),
                       *(_tag("th", name, scope="col") for name, _values in series)])
    rows = []
    for i, label in enumerate(labels):
        if isinstance(label, dt.date):
            label = _tag("time", format_date(label, date_format, locale=locale), datetime=label.isoformat())
        else:
            label = str(label)
        cells = [_tag("td", format_decimal(values[i], locale=locale)) for _name, values in series]
        rows.append(_tag("tr", [_tag("th", label, scope="row"), *cells]))
    if not rows or not series:
        rows = [_tag("tr", _tag("td", str(NO_DATA), colspan=len(series) + 1))]
    return _tag("table", [_tag("caption", str(caption)), _tag("thead", head), _tag("tbody", rows)],
                class_="chart-table")
