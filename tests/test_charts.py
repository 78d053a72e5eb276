"""Server-side SVG charts: well-formed and labelled, proportional, mirrored for Arabic, escaped, with their numbers."""
import datetime as dt
import re
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from flask import Flask, render_template_string
from flask_babel import Babel
from markupsafe import Markup

from intranet.stats.charts import (SLA, WIDTH, bar_comparison, data_table, histogram, nice_ticks, stacked_bar_chart,
                                   trend_chart)

NS = "{http://www.w3.org/2000/svg}"
DAYS = [dt.date(2025, 5, 1) + dt.timedelta(days=i) for i in range(5)]
TREND = [("Received", [12, 30, 18, 44, 25]), ("Completed", [10, 22, 20, 31, 27]), ("Returned", [1, 0, 3, 2, 4])]
SLA_STATES = [("On track", [300, 310, 290, 305, 320]), ("At risk", [40, 55, 60, 38, 41]),
              ("Overdue", [5, 9, 12, 7, 3])]
NASTY = '<script>alert(1)</script> "&'
BUCKETS = ["0–7", "8–14", "15–30", "31–45", "> 45"]
CHARTS = [
    (trend_chart, DAYS, TREND),
    (stacked_bar_chart, DAYS, SLA_STATES),
    (histogram, BUCKETS, [("Open", [40, 20, 10, 5, 80])]),
    (bar_comparison, ["Doha", "Al Rayyan", "Al Khor and Al Thakhira"], [("Requests", [1_000_000, 640_512, 98_004])]),
]


def _svg(markup) -> ET.Element:
    assert isinstance(markup, Markup)
    return ET.fromstring(str(markup))


def _texts(svg) -> list[str]:
    """What each <text> shows, its lines joined by a space (a hover <title> inside is not shown)."""
    return [" ".join(t.text for t in text.findall(f"{NS}tspan")) or text.text for text in svg.iter(f"{NS}text")]


def _data_rects(svg) -> list[ET.Element]:
    """The bars: rects drawn straight on the chart, minus the legend's swatches."""
    return [rect for rect in svg.findall(f"{NS}rect") if rect.get("class") != "chart-key"]


@pytest.mark.parametrize("draw, labels, series", CHARTS)
@pytest.mark.parametrize("locale", ["ar", "en"])
def test_every_chart_is_an_image_with_a_title_and_a_description(draw, labels, series, locale):
    svg = _svg(draw(labels, series, title="Title <here>", locale=locale))
    assert svg.get("role") == "img" and svg.get("width") == "100%" and svg.get("viewBox").startswith(f"0 0 {WIDTH} ")
    title = svg.find(f"{NS}title")
    desc = svg.find(f"{NS}desc")
    assert svg.get("aria-labelledby") == title.get("id") and title.text == "Title <here>"
    assert svg.get("aria-describedby") == desc.get("id") and desc.text
    assert svg.get("font-family") == "inherit" and svg.get("lang") == locale
    assert svg.get("direction") == ("rtl" if locale == "ar" else "ltr")


@pytest.mark.parametrize("draw, labels, series", CHARTS)
def test_no_script_no_handlers_no_outside_resources(draw, labels, series):
    svg = _svg(draw(labels, series, title="t", locale="ar"))
    for element in svg.iter():
        assert not element.tag.endswith("script") and not element.tag.endswith("foreignObject")
        assert not any(name.startswith("on") or "href" in name for name in element.attrib)
        assert all(value.startswith("url(#") for name, value in element.attrib.items() if "url(" in value)


def test_the_same_input_gives_the_same_svg():
    assert trend_chart(DAYS, TREND, title="t", locale="ar") == trend_chart(DAYS, TREND, title="t", locale="ar")


def test_two_charts_on_one_page_have_no_id_in_common():
    page = ET.fromstring(f"<div>{trend_chart(DAYS, TREND, title='Received', locale='ar')}"
                         f"{stacked_bar_chart(DAYS, SLA_STATES, title='SLA', locale='ar')}"
                         f"{stacked_bar_chart(DAYS, SLA_STATES, title='SLA', locale='ar', chart_id='sla-2')}</div>")
    ids = [element.get("id") for element in page.iter() if element.get("id")]
    assert len(ids) == len(set(ids))
    assert "sla-2" in ids and "sla-2-title" in ids and "sla-2-fill-1" in ids  # patterns too are per chart


def test_bar_heights_are_proportional_and_stand_on_one_baseline():
    svg = _svg(histogram(BUCKETS, [("Open", [10, 20, 40, 0, 5])], title="Age", locale="en"))
    bars = _data_rects(svg)
    heights = [float(bar.get("height")) for bar in bars]
    assert heights[1] == pytest.approx(2 * heights[0], abs=0.05)
    assert heights[2] == pytest.approx(4 * heights[0], abs=0.05)
    assert heights[3] == 0 and heights[4] == pytest.approx(heights[0] / 2, abs=0.05)
    assert len({round(float(bar.get("y")) + float(bar.get("height")), 2) for bar in bars}) == 1
    assert [float(bar.get("x")) for bar in bars] == sorted(float(bar.get("x")) for bar in bars)
    assert {"10", "20", "40", "0", "5"} <= set(_texts(svg))  # each bar carries its number


def test_horizontal_bars_are_proportional_and_numbers_are_formatted():
    svg = _svg(bar_comparison(["A", "B", "C"], [("n", [1_000_000, 500_000, 250_000])], title="t", locale="ar"))
    widths = [float(bar.get("width")) for bar in _data_rects(svg)]
    assert widths[0] == pytest.approx(2 * widths[1], abs=0.05) == pytest.approx(4 * widths[2], abs=0.05)
    assert "1,000,000" in _texts(svg) and "500,000" in _texts(svg)


def test_stacks_add_up_in_the_order_of_the_series():
    svg = _svg(stacked_bar_chart(DAYS[:1], [("a", [30]), ("b", [10]), ("c", [20])], title="t", locale="en"))
    a, b, c = _data_rects(svg)
    assert float(a.get("height")) == pytest.approx(3 * float(b.get("height")), abs=0.05)
    assert float(a.get("y")) == pytest.approx(float(b.get("y")) + float(b.get("height")), abs=0.02)  # b sits on a
    assert float(b.get("y")) == pytest.approx(float(c.get("y")) + float(c.get("height")), abs=0.02)


def test_right_to_left_runs_time_from_the_right():
    ltr = _svg(trend_chart(DAYS, TREND[:1], title="t", locale="en", rtl=False))
    rtl = _svg(trend_chart(DAYS, TREND[:1], title="t", locale="en", rtl=True))

    def points(svg):
        return [tuple(map(float, pair.split(","))) for pair in svg.find(f"{NS}polyline").get("points").split()]
    assert [x for x, _y in points(ltr)] == sorted(x for x, _y in points(ltr))
    assert [x for x, _y in points(rtl)] == sorted((x for x, _y in points(rtl)), reverse=True)  # 1 May at the right
    mirrored = [coordinate for x, y in points(ltr) for coordinate in (WIDTH - x, y)]
    assert mirrored == pytest.approx([coordinate for point in points(rtl) for coordinate in point], abs=0.01)
    anchors = [[t.get("text-anchor") for t in svg.iter(f"{NS}text")] for svg in (ltr, rtl)]
    assert anchors[0] == anchors[1] and (ltr.get("direction"), rtl.get("direction")) == ("ltr", "rtl")


def test_right_to_left_mirrors_bars():
    ltr, rtl = (_data_rects(_svg(histogram(BUCKETS, [("n", [1, 2, 3, 4, 5])], title="t", locale=locale)))
                for locale in ("en", "ar"))
    for left, right in zip(ltr, rtl):
        mirrored = WIDTH - float(left.get("x")) - float(left.get("width"))
        assert mirrored == pytest.approx(float(right.get("x")), abs=0.02)


@pytest.mark.parametrize("highest, expected", [
    (7, [0, 2, 4, 6, 8]), (10, [0, 2, 4, 6, 8, 10]), (101, [0, 50, 100, 150]), (1, [0, 1]), (0, [0, 1]),
    (1_000_000, [0, 200_000, 400_000, 600_000, 800_000, 1_000_000]), (Decimal("2.5"), [0, 0.5, 1, 1.5, 2, 2.5]),
    (Decimal("0.07"), [0, 0.02, 0.04, 0.06, 0.08]),
])
def test_ticks_are_nice_and_cover_the_highest_value(highest, expected):
    ticks = nice_ticks(highest)
    assert ticks == [Decimal(str(t)) for t in expected]
    step = ticks[1] - ticks[0]
    assert step.normalize().as_tuple().digits[0] in (1, 2, 5) and len(step.normalize().as_tuple().digits) == 1
    assert ticks[-1] >= highest and ticks[-1] - step < max(highest, Decimal(0)) + step


def test_a_chart_numbers_its_axis_with_nice_ticks_in_the_locale():
    texts = _texts(_svg(histogram(["x"], [("n", [1_234_567])], title="t", locale="ar")))
    assert {"0", "500,000", "1,000,000", "1,500,000", "1,234,567"} <= set(texts)


@pytest.mark.parametrize("draw, labels, series", CHARTS)
def test_labels_names_and_titles_are_escaped(draw, labels, series):
    labels = labels[:2] if isinstance(labels[0], dt.date) else [NASTY, "ok"]
    markup = draw(labels, [(NASTY, [1, 2]), ("other", [2, 1])], title=NASTY, locale="en")
    assert "<script>" not in markup and '"&' not in markup
    svg = _svg(markup)
    assert svg.find(f"{NS}title").text == NASTY and NASTY in _texts(svg)  # the title, and the legend
    if not isinstance(labels[0], dt.date):
        assert NASTY in _texts(svg) + [title.text for title in svg.iter(f"{NS}title")]


def test_the_table_escapes_too():
    table = data_table([NASTY], [(NASTY, [1])], caption=NASTY, label_header=NASTY, locale="en")
    assert "<script>" not in table
    parsed = ET.fromstring(str(table))
    assert parsed.find("caption").text == NASTY and {th.text for th in parsed.iter("th")} == {NASTY}


def test_a_long_label_wraps_to_two_lines_and_keeps_its_whole_name():
    name = "بلدية المناطق الغربية والجنوبية التابعة لمحافظة الشحانية ومعها القرى المجاورة كلها"
    svg = _svg(bar_comparison([name, "الدوحة"], [("الطلبات", [5, 7])], title="t", locale="ar"))
    label = next(text for text in svg.iter(f"{NS}text") if text.find(f"{NS}tspan") is not None)
    assert len(label.findall(f"{NS}tspan")) == 2 and label.find(f"{NS}title").text == name


@pytest.mark.parametrize("draw", [trend_chart, stacked_bar_chart, histogram, bar_comparison])
def test_no_data_says_so(draw):
    svg = _svg(draw([], [], title="Nothing", locale="en"))
    assert svg.get("role") == "img" and svg.find(f"{NS}title").text == "Nothing"
    assert _texts(svg) == ["No data for this period"] and svg.find(f"{NS}desc").text == "No data for this period"
    assert _svg(draw(DAYS, [], title="Nothing", locale="en")).find(f"{NS}desc").text == "No data for this period"


def test_a_single_point_shows_its_marker_and_number():
    svg = _svg(trend_chart(DAYS[:1], [("Received", [42])], title="t", locale="en"))
    assert len(svg.find(f"{NS}polyline").get("points").split()) == 1
    assert len(svg.findall(f"{NS}path")) == 1 and "42" in _texts(svg) and "May 1" in _texts(svg)
    assert len(_data_rects(_svg(histogram(["only"], [("n", [3])], title="t", locale="en")))) == 1


def test_series_differ_by_more_than_colour():
    bars = _svg(stacked_bar_chart(DAYS, SLA_STATES, title="t", locale="en", palette=SLA))
    keys = [rect.get("fill") for rect in bars.findall(f"{NS}rect") if rect.get("class") == "chart-key"]
    assert keys[0] == SLA[0] and keys[1].startswith("url(#") and len(set(keys)) == 3
    assert {rect.get("fill") for rect in _data_rects(bars)} == set(keys)  # the key shows the bars' own fills
    patterns = bars.find(f"{NS}defs").findall(f"{NS}pattern")
    hatches = {(p.get("patternTransform"), repr([(mark.tag, sorted(mark.attrib.items())) for mark in p[1:]]))
               for p in patterns}
    assert len(hatches) == len(patterns) == 2  # hatched differently, not just coloured differently
    lines = _svg(trend_chart(DAYS, TREND, title="t", locale="en"))
    assert len({line.get("stroke-dasharray") for line in lines.findall(f"{NS}polyline")}) == 3
    keys = [line.get("stroke-dasharray") for line in lines.findall(f"{NS}line") if line.get("class") == "chart-key"]
    assert keys == [line.get("stroke-dasharray") for line in lines.findall(f"{NS}polyline")]
    shapes = {re.sub(r"[-\d.,\s]", "", path.get("d")) for path in lines.findall(f"{NS}path")}
    assert shapes == {"MaaZ", "MhvhZ", "MlhZ"}  # circle, square and triangle markers


def test_the_description_reads_the_series_period_and_peak_in_the_locale():
    desc = _svg(trend_chart(DAYS, [("الوارد", [1, 9, 2, 9, 0]), ("المنجز", [0, 1, 1, 1, 1])], title="t",
                            locale="ar")).find(f"{NS}desc").text
    assert "الوارد والمنجز" in desc and "1 مايو 2025" in desc and "5 مايو 2025" in desc
    assert "9 (2 مايو 2025)" in desc  # the first day the peak was reached


def test_the_table_has_the_same_numbers_with_headers():
    table = ET.fromstring(str(data_table(DAYS, SLA_STATES, caption="SLA", label_header="Date", locale="en")))
    assert table.find("caption").text == "SLA"
    head = table.find("thead").findall("tr/th")
    assert [th.text for th in head] == ["Date", "On track", "At risk", "Overdue"]
    assert all(th.get("scope") == "col" for th in head)
    rows = table.find("tbody").findall("tr")
    assert len(rows) == len(DAYS)
    first = rows[0]
    assert first.find("th").get("scope") == "row" and first.find("th/time").get("datetime") == "2025-05-01"
    assert first.find("th/time").text == "May 1, 2025"
    for row, i in zip(rows, range(len(DAYS))):
        assert [td.text for td in row.findall("td")] == [str(values[i]) for _name, values in SLA_STATES]
    big = ET.fromstring(str(data_table(["Doha"], [("n", [1_000_000])], caption="c", label_header="g", locale="ar")))
    assert big.find("tbody/tr/td").text == "1,000,000"
    empty = ET.fromstring(str(data_table([], [("n", [])], caption="c", label_header="g", locale="en")))
    cell = empty.find("tbody/tr/td")
    assert cell.text == "No data for this period" and cell.get("colspan") == "2"


def test_inputs_that_cannot_be_drawn_are_refused():
    with pytest.raises(ValueError):
        trend_chart(DAYS, [("short", [1, 2])], title="t", locale="en")
    with pytest.raises(ValueError):
        histogram(["a"], [("n", [-1])], title="t", locale="en")


@pytest.fixture
def babel_app():
    """Just Flask and Babel, to render the figure macro as a page would (no database)."""
    app = Flask(__name__, template_folder="../templates")
    Babel(app)
    with app.test_request_context():
        yield app


@pytest.mark.parametrize("numbers, wrapper", [("details", '<details class="chart-numbers"><summary>Show the numbers'),
                                              ("hidden", '<div class="visually-hidden"><table')])
def test_the_figure_shows_the_table_on_request_or_to_screen_readers_only(babel_app, numbers, wrapper):
    svg = histogram(BUCKETS, [("Open", [1, 2, 3, 4, 5])], title="Age", locale="en")
    table = data_table(BUCKETS, [("Open", [1, 2, 3, 4, 5])], caption="Age", label_header="Days", locale="en")
    page = render_template_string('{% from "stats/_chart.html" import chart_figure %}'
                                  '{{ chart_figure(svg, table, "Age", numbers) }}',
                                  svg=svg, table=table, numbers=numbers)
    assert wrapper in page and '<figure class="chart">' in page and "<figcaption>Age</figcaption>" in page
    assert page.count("<svg") == 1 and page.count("<table") == 1 and "&lt;" not in page
