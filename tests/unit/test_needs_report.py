"""The prefecture's needs report (pure): no count under 5 anywhere, pooled rows, urgent shares, trends."""
from hypothesis import given, settings
from hypothesis import strategies as st

from chamber_callback.domain.needs_report import MIN_COUNT, Fact, Merged, Urgency, build, named_values, trend_percent

ALL, OTHERS = Merged.ALL, Merged.OTHERS
RENNES, SAINT_MALO, FOUGERES = "35238", "35288", "35115"


def facts(topic="pge", departement="35", commune=RENNES, sector="services", n=1, urgent=0):
    """n requests alike, ``urgent`` of them urgent."""
    out = []
    if n - urgent:
        out.append(Fact(topic, departement, commune, sector, False, n - urgent))
    if urgent:
        out.append(Fact(topic, departement, commune, sector, True, urgent))
    return out


def shape(report):
    return [(row.topic, row.departement, row.sector, row.commune, row.count) for row in report.rows]


# --- communes --------------------------------------------------------------------------------------

def test_a_commune_under_5_cannot_stay_alone_so_the_group_is_one_departement_row():
    # 12 in Rennes, 3 in Saint-Malo: « autres communes » would be 3, so Rennes joins it.
    report = build(facts(n=12) + facts(commune=SAINT_MALO, n=3))
    assert shape(report) == [("pge", "35", "services", ALL, 15)]
    assert report.total.count == 15


def test_small_communes_go_to_autres_communes_with_the_smallest_named_one_when_needed():
    report = build(facts(n=12) + facts(commune=SAINT_MALO, n=7) + facts(commune=FOUGERES, n=3))
    assert shape(report) == [("pge", "35", "services", RENNES, 12), ("pge", "35", "services", OTHERS, 10)]
    report = build(facts(n=6) + facts(commune=SAINT_MALO, n=5) + facts(commune=FOUGERES, n=2)
                   + facts(commune=None, n=3))  # no commune: always pooled
    assert shape(report) == [("pge", "35", "services", RENNES, 6), ("pge", "35", "services", SAINT_MALO, 5),
                             ("pge", "35", "services", OTHERS, 5)]


def test_ties_are_broken_by_code_and_every_commune_can_be_named():
    report = build(facts(n=5) + facts(commune=SAINT_MALO, n=5))
    assert shape(report) == [("pge", "35", "services", RENNES, 5), ("pge", "35", "services", SAINT_MALO, 5)]
    assert named_values({"b": 5, "a": 5, "c": 2}) == {"b"}  # "a" (same count, first code) joins the pool


# --- sectors ---------------------------------------------------------------------------------------

def test_sectors_under_5_merge_and_all_of_them_make_tous_secteurs():
    report = build(facts(sector="alimentation", n=8) + facts(sector="batiment", n=3) + facts(n=2))
    assert shape(report) == [("pge", "35", "alimentation", RENNES, 8), ("pge", "35", OTHERS, RENNES, 5)]
    report = build(facts(sector="alimentation", n=4) + facts(sector="batiment", n=3))
    assert shape(report) == [("pge", "35", ALL, RENNES, 7)]


# --- départements and topics --------------------------------------------------------------------------

def test_departements_under_5_go_to_autres_departements_without_communes():
    report = build(facts(n=10) + facts(departement="13", commune="13208", n=6) + facts(departement="33",
                                                                                       commune="33063", n=3))
    # Pool of 3 → the smallest named (13, 6) joins: « autres départements » 9, and no commune in it.
    assert shape(report) == [("pge", "35", "services", RENNES, 10), ("pge", OTHERS, "services", ALL, 9)]
    report = build(facts(n=10) + facts(departement="13", commune="13208", n=3) + facts(departement="33",
                                                                                       commune="33063", n=1))
    assert shape(report) == [("pge", ALL, "services", ALL, 14)]


def test_topics_under_5_go_to_autres_sujets_so_the_total_gives_nothing_away():
    report = build(facts(topic="aides", n=30) + facts(topic="charges", n=6) + facts(topic="autre", n=2))
    assert shape(report) == [("aides", "35", "services", RENNES, 30), (OTHERS, "35", "services", RENNES, 8)]
    assert report.total.count == 38 and not report.suppressed


def test_a_day_with_fewer_than_5_requests_is_suppressed_entirely():
    report = build(facts(topic="aides", n=3, urgent=1) + facts(topic="pge", n=1))
    assert report.suppressed and len(report.rows) == 1
    row = report.rows[0]
    assert (row.count, row.urgency, row.urgent_percent, row.trend_percent) == (None, Urgency.WITHHELD, None, None)
    assert report.total is row and (row.topic, row.departement, row.sector, row.commune) == (ALL, ALL, ALL, ALL)


def test_no_request_at_all_is_zero_not_suppressed():
    report = build([], facts(n=14))
    assert report.rows == () and report.total.count == 0 and report.total.urgency is Urgency.WITHHELD
    assert report.total.trend_percent == -100


# --- urgent share ------------------------------------------------------------------------------------

def test_the_urgent_share_needs_5_urgent_and_5_not_urgent():
    def row_of(n, urgent):
        return build(facts(n=n, urgent=urgent)).rows[0]
    assert (row_of(12, 6).urgency, row_of(12, 6).urgent_percent) == (Urgency.SHOWN, 50)
    assert (row_of(15, 5).urgency, row_of(15, 5).urgent_percent) == (Urgency.SHOWN, 33)
    assert (row_of(12, 3).urgency, row_of(12, 3).urgent_percent) == (Urgency.FEW_URGENT, None)
    assert (row_of(12, 0).urgency, row_of(12, 0).urgent_percent) == (Urgency.FEW_URGENT, None)  # 0 % is told too
    assert (row_of(12, 9).urgency, row_of(12, 9).urgent_percent) == (Urgency.FEW_NOT_URGENT, None)
    assert (row_of(8, 4).urgency, row_of(8, 4).urgent_percent) == (Urgency.WITHHELD, None)


def test_the_total_share_is_withheld_when_subtracting_would_give_one_withheld_row():
    one_withheld = build(facts(n=20, urgent=10) + facts(topic="aides", n=12, urgent=2))
    assert [row.urgency for row in one_withheld.rows] == [Urgency.SHOWN, Urgency.FEW_URGENT]
    assert one_withheld.total.urgency is Urgency.WITHHELD and one_withheld.total.urgent_percent is None
    # Two withheld rows with 3 + 3 urgent and 9 + 9 not urgent: the total only tells the pair (6 and 18).
    two_withheld = build(facts(n=20, urgent=10) + facts(topic="aides", n=12, urgent=3)
                         + facts(topic="charges", n=12, urgent=3))
    assert two_withheld.total.urgency is Urgency.SHOWN and two_withheld.total.urgent_percent == 36  # 16 / 44
    every_row_shown = build(facts(n=20, urgent=10) + facts(topic="aides", n=10, urgent=5))
    assert every_row_shown.total.urgent_percent == 50


# --- trend ------------------------------------------------------------------------------------------

def test_the_trend_compares_with_the_mean_of_the_7_days_before_rounded_to_10_percent():
    assert trend_percent(14, 70) == 40  # mean 10
    assert trend_percent(13, 70) == 30
    assert trend_percent(7, 56) == -10  # -12.5 % → -10 % (halves upward)
    assert trend_percent(9, 60) == 10  # +5 % → +10 %
    assert trend_percent(10, 70) == 0
    assert trend_percent(12, 4) is None  # fewer than 5 the week before: nothing to compare, nothing told


def test_the_days_before_are_counted_in_todays_rows():
    today = facts(n=12) + facts(commune=SAINT_MALO, n=7) + facts(commune=FOUGERES, n=3)
    before = (facts(n=35) + facts(commune=FOUGERES, n=20)  # Fougères has no row today: « autres communes »
              + facts(commune="35360", n=15)  # nor this one
              + facts(topic="aides", n=50))  # a topic absent today: in no row, only in the total
    report = build(today, before)
    rennes, others = report.rows
    assert (rennes.commune, rennes.trend_percent) == (RENNES, 140)  # 12 against 35 / 7 = 5
    assert (others.commune, others.trend_percent) == (OTHERS, 100)  # 10 against 35 / 7 = 5
    assert report.total.trend_percent == 30  # 22 against 120 / 7 (+28 %)


# --- whatever the facts ----------------------------------------------------------------------------

fact = st.builds(Fact, topic=st.sampled_from(["aides", "pge", "charges"]),
                 departement=st.sampled_from(["35", "13", "75"]),
                 commune=st.sampled_from([None, "c1", "c2", "c3", "c4"]),
                 sector=st.sampled_from(["alimentation", "batiment", "services"]),
                 urgent=st.booleans(), count=st.integers(1, 8))


@settings(max_examples=300, deadline=None)
@given(day=st.lists(fact, max_size=40))
def test_no_figure_under_5_is_ever_published_and_the_rows_add_up(day):
    report = build(day, day)
    total = sum(f.count for f in day)
    if 0 < total < MIN_COUNT:
        assert report.suppressed and report.total.count is None
        return
    assert report.total.count == total == sum(row.count for row in report.rows)
    urgent_total = sum(f.count for f in day if f.urgent)
    for row in report.rows:
        assert row.count >= MIN_COUNT
        if row.departement in (OTHERS, ALL):
            assert row.commune is ALL
    for row in [*report.rows, report.total]:
        if row.urgency is Urgency.SHOWN:
            urgent = round(row.urgent_percent * row.count / 100)
            assert urgent >= MIN_COUNT - 0.5 and row.count - urgent >= MIN_COUNT - 0.5
    if report.total.urgency is Urgency.SHOWN:
        hidden = [row for row in report.rows if row.urgency is not Urgency.SHOWN]
        shown_urgent = sum(round(row.urgent_percent * row.count / 100) for row in report.rows
                           if row.urgency is Urgency.SHOWN)
        if hidden:
            hidden_count = sum(row.count for row in hidden)
            assert urgent_total - shown_urgent >= MIN_COUNT
            assert hidden_count - (urgent_total - shown_urgent) >= MIN_COUNT
