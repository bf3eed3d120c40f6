#!/usr/bin/env bash
# schedule.c against python3-croniter (Debian's, so /usr/bin/python3: the python3 first on PATH
# may be another interpreter without Debian's modules). Random valid expressions using every
# syntax feature, at random instants 2000-2040 (some exactly on a fire instant, some at month and
# year ends), go through $TOOLS_DIR/crontool in one run; its cron_prev / cron_next must equal
# croniter's. Random invalid expressions must be rejected by both. CRON_SEED=N repeats a run,
# CRON_CASES=N changes its size.
#
# croniter is not Vixie cron, and Debian 12's croniter (1.3.5) has bugs fixed upstream since.
# How the reference is asked, and why none of it lets a wrong answer of ours through:
# * OR rule. Vixie ORs the day fields when neither starts with '*'; croniter's day_or ORs when
#   neither covers every value ("*/2" counts as restricted, "1-31" as a star), and an OR whose
#   one side never fires (day 30 in February) raises instead of giving the other side. So every
#   croniter call uses day_or=False (AND), and where Vixie ORs, the answer is the nearer of two
#   calls: the expression with day-of-week "*" (the day-of-month side) and with day-of-month "*".
# * Prev at a fire instant: croniter's get_prev(t) is strictly before t; ours is <= t, so we ask
#   croniter for get_prev(t + 1 s). Fire instants are whole minutes, so nothing lies in between.
# * Horizon: we look 96 months from the month of t and answer -1 beyond that; croniter looks 50
#   years. -1 from us is right when croniter finds nothing or finds a fire more than 96 months
#   away (e.g. "0 0 29 2 */7": Feb 29 on a Sunday, 28 years apart).
# * Known croniter 1.3.5 bugs. When croniter and we differ, a brute-force search (day by day over
#   the value sets the generator drew, so independent of both parsers) referees. The difference
#   passes only if the brute force agrees with us AND it is one of these two bugs; it is then
#   counted on its own line:
#   - get_prev never returns a February 29: it takes February as 28 days long (croniter issues
#     #62 and #203, fixed in 2.0.2 and later); ours falls on Feb 29, croniter's is earlier.
#   - get_next skips the first days of a month when the day-of-month list has a day the month
#     before lacks ("1,30" from February gives March 30, not March 1; croniter pull #178);
#     ours is earlier than croniter's, in the month after one shorter than the largest day.
#   Any other difference fails, whoever the brute force sides with.
# * Not generated, because we reject on purpose what croniter accepts: macros in upper case
#   (Vixie compares "@daily" case-sensitively), day-of-week ranges ending at Sunday written as 0
#   ("fri-sun": croniter reads that 0 as 7; Vixie 3.0 sets no day, 4.x rejects the line),
#   6 fields (croniter: seconds), and croniter's extensions L, W, #, ? and H.
set -u
# shellcheck disable=SC2034 # read by common.sh
TEST_NAME=test_cron_croniter
cd "$(dirname "$0")/../.." || exit 1
. tests/integration/lib/common.sh
TOOL="${TOOLS_DIR:-build/tools}/crontool"
PY=/usr/bin/python3
SEED=${CRON_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
CASES=${CRON_CASES:-3000}

if [ ! -x "$TOOL" ]; then
    nok "crontool is built ($TOOL; make \$BUILD/tools/crontool)"
    finish
    exit
fi
if ! "$PY" -c 'import croniter' 2>/dev/null; then
    nok "python3-croniter is installed for $PY (make deps)"
    finish
    exit
fi
echo "seed $SEED (CRON_SEED=$SEED repeats this run), $CASES valid expressions"

# ---- known answers -----------------------------------------------------------------------------
run_tool() { printf '%s\t%s\n' "$1" "$2" | "$TOOL"; }
eq "Spilo default 0 1 * * * at 2025-03-10T09:30:00Z" "1741568400	1741654800" \
    "$(run_tool '0 1 * * *' 1741599000)"
eq "*/10 * * * * on a fire instant: prev is the instant" "1741599600	1741600200" \
    "$(run_tool '*/10 * * * *' 1741599600)"
eq "0 0 30 2 * never fires" "-1	-1" "$(run_tool '0 0 30 2 *' 1741599000)"
eq "hour 25 is an error naming the field" 'error	hour field "25": values are 0-23' \
    "$(run_tool '0 25 * * *' 0)"
eq "@reboot is an error" "error" "$(run_tool '@reboot' 0 | cut -f1)"
eq "6 fields are an error" "error" "$(run_tool '0 0 1 * * *' 0 | cut -f1)"

# ---- expressions, instants and croniter's answers ----------------------------------------------
if ! "$PY" - "$SEED" "$CASES" "$TMP/input.tsv" "$TMP/expected.tsv" <<'PY'; then
import json, random, sys
from datetime import datetime, timezone
from croniter import croniter, CroniterBadDateError, CroniterBadCronError

seed, cases = int(sys.argv[1]), int(sys.argv[2])
input_path, expected_path = sys.argv[3], sys.argv[4]
rnd = random.Random(seed)
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
# low, high ("*" and "N/S" run to high; day of week to 7), names (value = index + base), base
FIELDS = [(0, 59, None, 0), (0, 23, None, 0), (1, 31, None, 0), (1, 12, MONTHS, 1), (0, 7, DAYS, 0)]
MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
          "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
          "@hourly": "0 * * * *"}
T0 = int(datetime(2000, 1, 1, tzinfo=timezone.utc).timestamp())
T1 = int(datetime(2041, 1, 1, tzinfo=timezone.utc).timestamp())


def at(t):
    return datetime.fromtimestamp(t, timezone.utc)


def spell(f, v, tags, seven=True):
    """A value as a number or, where the field has names, sometimes as a name in any case."""
    lo, hi, names, base = FIELDS[f]
    if names and v - base < len(names) and rnd.random() < 0.4:
        tags.add("names")
        n = names[v - base]
        return rnd.choice([n, n.upper(), n.capitalize()])
    if f == 4 and v == 0 and seven and rnd.random() < 0.3:
        tags.add("dow 7")
        return "7"
    return str(v)


def gen_item(f, tags):
    """One list item and the values it stands for."""
    lo, hi, names, base = FIELDS[f]
    top = 6 if f == 4 else hi  # a day of week 7 only through spell() and range ends
    kind = rnd.choice(["num", "num", "range", "range_step", "star_step", "start_step"])
    if kind == "num":
        tags.add("numbers")
        v = rnd.randint(lo, top)
        return spell(f, v, tags), {v}
    if kind == "star_step":
        tags.add("*/n")
        s = rnd.randint(1, hi - lo + 2)
        return "*/%d" % s, set(range(lo, hi + 1, s))
    s = rnd.randint(1, (hi - lo) // 2 + 2) if kind != "range" else 1
    if kind == "start_step":
        tags.add("a/n")
        a = rnd.randint(lo, top)
        a_txt = spell(f, a, tags)
        if a_txt == "7":  # "7/S" is 7-7/S: Sunday only
            a = 7
        return "%s/%d" % (a_txt, s), set(range(a, hi + 1, s))
    tags.add("ranges")
    a = rnd.randint(lo, top)
    b = rnd.randint(a, hi)
    a_txt = spell(f, a, tags, seven=False)
    if f == 4 and b == 7:
        tags.add("dow 7")
        b_txt = "7"
    else:
        b_txt = spell(f, b, tags, seven=False)
    if kind == "range_step":
        tags.add("a-b/n")
        return "%s-%s/%d" % (a_txt, b_txt, s), set(range(a, b + 1, s))
    return "%s-%s" % (a_txt, b_txt), set(range(a, b + 1))


def gen_field(f, tags, p_star):
    lo, hi, names, base = FIELDS[f]
    if rnd.random() < p_star:
        return "*", set(range(lo, hi + 1))
    n = rnd.choice([1, 1, 1, 2, 3])
    if n > 1:
        tags.add("lists")
    items = [gen_item(f, tags) for _ in range(n)]
    return ",".join(t for t, _ in items), set().union(*(v for _, v in items))


def gen_valid():
    """(expression, its 5 fields, feature tags, value sets with the day of week mod 7)."""
    tags = set()
    if rnd.random() < 0.04:
        m = rnd.choice(sorted(MACROS))
        tags.add("macros")
        five = MACROS[m].split()
        sets = [set(range(FIELDS[i][0], FIELDS[i][1] + 1)) if x == "*" else {int(x)}
                for i, x in enumerate(five)]
        return m, five, tags, sets
    # Dense fields seldom reach a month or year end: most expressions fix the minute and the
    # hour and restrict months and days; some are dense.
    dense = rnd.random() < 0.15
    fields = [gen_field(0, tags, 0.5 if dense else 0.05), gen_field(1, tags, 0.5 if dense else 0.1),
              gen_field(2, tags, 0.6), gen_field(3, tags, 0.5), gen_field(4, tags, 0.6)]
    if not dense and rnd.random() < 0.3:  # days at the end of months, often in February
        tags.add("month ends")
        fields[2] = rnd.choice([("28", {28}), ("29", {29}), ("30", {30}), ("31", {31}),
                                ("29-31", {29, 30, 31}), ("28,29", {28, 29}), ("*/29", {1, 30}),
                                ("30/1", {30, 31}), ("1,30", {1, 30})])
        if rnd.random() < 0.6:
            fields[3] = rnd.choice([("2", {2}), ("feb", {2}), ("1,2", {1, 2}), ("2,12", {2, 12}),
                                    ("2-3", {2, 3}), ("*/2", {1, 3, 5, 7, 9, 11})])
    five = [t for t, _ in fields]
    sets = [v for _, v in fields]
    sets[4] = {v % 7 for v in sets[4]}
    return " ".join(five), five, tags, sets


def references(expr, five, sets):
    """(croniter expressions whose union is expr as Vixie reads it, Vixie ORs the days)."""
    if expr.startswith("@"):
        return [expr], False
    vixie_or = not five[2].startswith("*") and not five[4].startswith("*")
    if not vixie_or:
        return [expr], False
    if sets[2] >= set(range(1, 32)) or sets[4] >= set(range(7)):
        return [" ".join(five[:2] + ["*", five[3], "*"])], True  # every day matches
    return [" ".join(five[:4] + ["*"]), " ".join(five[:2] + ["*", five[3], five[4]])], True


def croniter_at(refs, t, prev):
    found = []
    for ref in refs:
        try:
            it = croniter(ref, at(t + 1 if prev else t), day_or=False)
            found.append(int(it.get_prev(float) if prev else it.get_next(float)))
        except CroniterBadDateError:
            pass
    if not found:
        return None
    return max(found) if prev else min(found)


def gen_instant(refs):
    r = rnd.random()
    if r < 0.1:  # around a year end or the end of February
        y = rnd.randint(2000, 2040)
        base = datetime(y, 12, 31, tzinfo=timezone.utc) if rnd.random() < 0.5 else \
            datetime(y, 2, 28, tzinfo=timezone.utc)
        return int(base.timestamp()) + rnd.randint(0, 2 * 86400)
    t = rnd.randint(T0, T1)
    if r < 0.35:  # on a fire instant, or just around it
        n = croniter_at(refs, t, False)
        if n is not None:
            t = n + rnd.choice([0, 0, -1, 1, 59, -60])
    return t


def gen_invalid():
    """A valid expression with one field made invalid, or a wrong whole expression."""
    bad = {
        0: ["60", "0-60", "*/0", "5-1", "1,,2", "1,", "jan", "-1", "5-", "*5", "1-2-3", "1/", "a"],
        1: ["24", "25", "23-2", "*/0", "mon", "1.5", "0x1", "*-3"],
        2: ["0", "32", "0-5", "31-1", "*/0", "mon", "15,", "1-40"],
        3: ["0", "13", "foo", "dec-jan", "12-1", "*/0", "janu", "0-3"],
        4: ["8", "0-8", "5-1", "*/0", "sunday", "fri-mon", "mon-8", "x"],
    }
    if rnd.random() < 0.1:
        return rnd.choice(["@reboot", "@fortnightly", "@daily 5", "", "   ", "1 2 3 4",
                           "1 2 3 4 5 6 7", "* * * *"])
    while True:
        expr, five, tags, sets = gen_valid()
        if not expr.startswith("@"):
            break
    i = rnd.randrange(5)
    five[i] = rnd.choice(bad[i])
    return " ".join(five)


with open(input_path, "w") as inp, open(expected_path, "w") as exp:
    for _ in range(cases):
        expr, five, tags, sets = gen_valid()
        refs, vixie_or = references(expr, five, sets)
        if vixie_or:
            tags.add("OR rule")
        elif five[2] not in ("*",) and five[4] not in ("*",) and not expr.startswith("@"):
            tags.add("AND rule, both day fields restricted")
        tags.add("all valid")
        t = gen_instant(refs)
        p, n = croniter_at(refs, t, True), croniter_at(refs, t, False)
        inp.write("%s\t%d\n" % (expr, t))
        case = {"expr": expr, "t": t, "prev": p, "next": n, "tags": sorted(tags), "refs": refs,
                "or": vixie_or, "sets": [sorted(s) for s in sets]}
        exp.write(json.dumps(case) + "\n")
    for _ in range(max(cases // 10, 20)):
        bad = gen_invalid()
        try:
            croniter(bad, at(T0))
            accepted = True
        except (CroniterBadCronError, ValueError, KeyError, IndexError):
            accepted = False
        inp.write("%s\t%d\n" % (bad, T0))
        exp.write(json.dumps({"expr": bad, "t": T0, "invalid": True, "accepted": accepted}) + "\n")
PY
    nok "the generator and croniter ran"
    finish
    exit
fi

# ---- our answers, compared ---------------------------------------------------------------------
"$TOOL" <"$TMP/input.tsv" >"$TMP/got.tsv" || nok "crontool exits 0"
eq "crontool answers every line" "$(wc -l <"$TMP/input.tsv")" "$(wc -l <"$TMP/got.tsv")"

while IFS=$'\t' read -r verdict desc; do
    case $verdict in
    ok) ok "$desc" ;;
    FAIL) nok "$desc" ;;
    *) echo "  $desc" ;;
    esac
done < <("$PY" - "$TMP/expected.tsv" "$TMP/got.tsv" <<'PY'
import calendar, json, sys
from datetime import date, datetime, timedelta, timezone

HORIZON = 96
FEB29_PREV = "croniter 1.3.5 bug, get_prev never gives Feb 29 (brute force sides with us)"
SHORT_MONTH_NEXT = "croniter 1.3.5 bug, get_next skips days after a short month (brute force " \
    "sides with us)"


def at(t):
    return datetime.fromtimestamp(t, timezone.utc)


def month_index(t):
    d = at(t)
    return d.year * 12 + d.month - 1


def iso(v):
    return "none" if v is None or v == -1 else at(v).strftime("%Y-%m-%dT%H:%MZ")


def agrees(ours, ref, t):
    if ours == -1:
        return ref is None or abs(month_index(ref) - month_index(t)) > HORIZON
    return ref is not None and ours == ref


def brute(case, prev):
    """Day by day over the generator's value sets, 3000 days (past the horizon)."""
    mi, hr, dom, mon, dow = (set(s) for s in case["sets"])
    t = case["t"]
    minutes = sorted(h * 3600 + m * 60 for h in hr for m in mi)
    day = at(t).date()
    for i in range(3000):
        d = day - timedelta(days=i) if prev else day + timedelta(days=i)
        if d.month not in mon:
            continue
        dom_ok, dow_ok = d.day in dom, d.isoweekday() % 7 in dow
        if not ((dom_ok or dow_ok) if case["or"] else (dom_ok and dow_ok)):
            continue
        base = calendar.timegm(d.timetuple())
        fires = [base + s for s in minutes if (base + s <= t if prev else base + s > t)]
        if fires:
            return max(fires) if prev else min(fires)
    return None


def known_bug(case, prev, ours, ref):
    """The croniter bug that explains ref != ours, when the brute force sides with ours."""
    if ours == -1 or not agrees(ours, brute(case, prev), case["t"]):
        return None
    d = at(ours)
    if prev and d.month == 2 and d.day == 29 and (ref is None or ref < ours):
        return FEB29_PREV
    if not prev and (ref is None or ref > ours):
        before = (d.replace(day=1) - timedelta(days=1))
        if before.day < max(case["sets"][2]):
            return SHORT_MONTH_NEXT
    return None


stats, bugs, shown = {}, {}, 0
expected = [json.loads(line) for line in open(sys.argv[1])]
got = open(sys.argv[2]).read().splitlines()
for case, g in zip(expected, got):
    g = g.split("\t")
    if case.get("invalid"):
        good = g[0] == "error" and not case["accepted"]
        why = "ours %r, croniter %s" % (" ".join(g), "accepts" if case["accepted"] else "rejects")
        tags = ["invalid expressions rejected"]
    elif g[0] == "error":
        good, why, tags = False, "ours: " + g[1], case["tags"]
    else:
        ours = [int(g[0]), int(g[1])]
        good, tags = True, case["tags"]
        for prev, o, r in ((True, ours[0], case["prev"]), (False, ours[1], case["next"])):
            if agrees(o, r, case["t"]):
                continue
            bug = known_bug(case, prev, o, r)
            if bug:
                bugs.setdefault(bug, []).append("%r at %s: ours %s, croniter %s" % (
                    case["expr"], iso(case["t"]), iso(o), iso(r)))
            else:
                good = False
        why = "ours %s / %s, croniter %s / %s, brute force %s / %s via %s" % (
            iso(ours[0]), iso(ours[1]), iso(case["prev"]), iso(case["next"]),
            iso(brute(case, True)), iso(brute(case, False)), case["refs"])
    for tag in tags:
        s = stats.setdefault(tag, [0, 0])
        s[0] += 1
        s[1] += 0 if good else 1
    if not good and shown < 25:
        shown += 1
        print("mismatch\t%r at %d (%s): %s" % (case["expr"], case["t"], iso(case["t"]), why))
for tag in sorted(stats):
    n, bad = stats[tag]
    if bad:
        print("FAIL\t%s: %d of %d cases differ from croniter" % (tag, bad, n))
    else:
        print("ok\t%s: %d cases agree with croniter" % (tag, n))
for bug in sorted(bugs):
    print("ok\t%s: %d answers" % (bug, len(bugs[bug])))
    for example in bugs[bug][:3]:
        print("example\t%s" % example)
PY
)
finish
