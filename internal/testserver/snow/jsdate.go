package snow

import (
	"strconv"
	"strings"
	"time"
)

// evalJS evaluates the small set of `javascript:gs.*` expressions that
// encoded queries use, on the fake clock and in the user's time zone. The
// result is a UTC date-time string (or a user id/name). Anything else is
// refused with 400.
func evalJS(expr string, env queryEnv) (string, error) {
	e := strings.TrimSpace(expr)
	e = strings.TrimSpace(strings.TrimSuffix(e, ";"))
	if !strings.HasPrefix(e, "gs.") || !strings.HasSuffix(e, ")") {
		return "", unsupported("javascript:%s is not evaluated", expr)
	}
	open := strings.IndexByte(e, '(')
	if open < 0 {
		return "", unsupported("javascript:%s is not evaluated", expr)
	}
	name := e[3:open]
	args, ok := splitArgs(e[open+1 : len(e)-1])
	if !ok {
		return "", unsupported("javascript:%s: cannot read the arguments", expr)
	}
	loc := env.loc
	if loc == nil {
		loc = time.UTC
	}
	now := env.now.In(loc)
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc) }
	endOf := func(t time.Time) time.Time { return t.Add(-time.Second) }
	intArg := func() (int, bool) {
		if len(args) == 0 {
			return 0, true
		}
		if len(args) != 1 {
			return 0, false
		}
		n, err := strconv.Atoi(args[0])
		return n, err == nil
	}
	out := func(t time.Time) (string, error) { return fmtTime(t), nil }
	noArgs := len(args) == 0
	switch name {
	case "getUserID":
		if noArgs {
			return env.userID, nil
		}
	case "getUserName":
		if noArgs {
			return env.userName, nil
		}
	case "nowDateTime", "nowNoTZ":
		if noArgs {
			return out(now)
		}
	case "daysAgo", "daysAgoStart", "daysAgoEnd", "hoursAgo", "hoursAgoStart", "hoursAgoEnd",
		"minutesAgo", "minutesAgoStart", "minutesAgoEnd", "monthsAgoStart", "monthsAgoEnd":
		n, ok := intArg()
		if !ok {
			break
		}
		switch name {
		case "daysAgo":
			return out(now.AddDate(0, 0, -n))
		case "daysAgoStart":
			return out(day(now.AddDate(0, 0, -n)))
		case "daysAgoEnd":
			return out(endOf(day(now.AddDate(0, 0, -n)).AddDate(0, 0, 1)))
		case "hoursAgo":
			return out(now.Add(-time.Duration(n) * time.Hour))
		case "hoursAgoStart":
			return out(now.Add(-time.Duration(n) * time.Hour).Truncate(time.Hour))
		case "hoursAgoEnd":
			return out(endOf(now.Add(-time.Duration(n) * time.Hour).Truncate(time.Hour).Add(time.Hour)))
		case "minutesAgo":
			return out(now.Add(-time.Duration(n) * time.Minute))
		case "minutesAgoStart":
			return out(now.Add(-time.Duration(n) * time.Minute).Truncate(time.Minute))
		case "minutesAgoEnd":
			return out(endOf(now.Add(-time.Duration(n) * time.Minute).Truncate(time.Minute).Add(time.Minute)))
		case "monthsAgoStart":
			m := now.AddDate(0, -n, 0)
			return out(time.Date(m.Year(), m.Month(), 1, 0, 0, 0, 0, loc))
		case "monthsAgoEnd":
			m := now.AddDate(0, -n, 0)
			return out(endOf(time.Date(m.Year(), m.Month()+1, 1, 0, 0, 0, 0, loc)))
		}
	case "beginningOfToday", "endOfToday", "beginningOfYesterday", "endOfYesterday",
		"beginningOfTomorrow", "endOfTomorrow", "beginningOfLast7Days", "beginningOfLast30Days",
		"beginningOfLast90Days", "beginningOfThisWeek", "endOfThisWeek", "beginningOfLastWeek", "endOfLastWeek",
		"beginningOfThisMonth", "endOfThisMonth", "beginningOfLastMonth", "endOfLastMonth",
		"beginningOfThisYear", "endOfThisYear", "beginningOfLastHour", "beginningOfLast15Minutes",
		"beginningOfLast30Minutes", "beginningOfLast2Hours", "beginningOfLastMinute", "beginningOfNextWeek":
		if !noArgs {
			break
		}
		today := day(now)
		monday := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
		month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)
		year := time.Date(now.Year(), 1, 1, 0, 0, 0, 0, loc)
		switch name {
		case "beginningOfToday":
			return out(today)
		case "endOfToday":
			return out(endOf(today.AddDate(0, 0, 1)))
		case "beginningOfYesterday":
			return out(today.AddDate(0, 0, -1))
		case "endOfYesterday":
			return out(endOf(today))
		case "beginningOfTomorrow":
			return out(today.AddDate(0, 0, 1))
		case "endOfTomorrow":
			return out(endOf(today.AddDate(0, 0, 2)))
		case "beginningOfLast7Days":
			return out(today.AddDate(0, 0, -7))
		case "beginningOfLast30Days":
			return out(today.AddDate(0, 0, -30))
		case "beginningOfLast90Days":
			return out(today.AddDate(0, 0, -90))
		case "beginningOfThisWeek":
			return out(monday)
		case "endOfThisWeek":
			return out(endOf(monday.AddDate(0, 0, 7)))
		case "beginningOfLastWeek":
			return out(monday.AddDate(0, 0, -7))
		case "endOfLastWeek":
			return out(endOf(monday))
		case "beginningOfNextWeek":
			return out(monday.AddDate(0, 0, 7))
		case "beginningOfThisMonth":
			return out(month)
		case "endOfThisMonth":
			return out(endOf(month.AddDate(0, 1, 0)))
		case "beginningOfLastMonth":
			return out(month.AddDate(0, -1, 0))
		case "endOfLastMonth":
			return out(endOf(month))
		case "beginningOfThisYear":
			return out(year)
		case "endOfThisYear":
			return out(endOf(year.AddDate(1, 0, 0)))
		case "beginningOfLastHour":
			return out(now.Add(-time.Hour).Truncate(time.Hour))
		case "beginningOfLast2Hours":
			return out(now.Add(-2 * time.Hour).Truncate(time.Hour))
		case "beginningOfLast15Minutes":
			return out(now.Add(-15 * time.Minute).Truncate(time.Minute))
		case "beginningOfLast30Minutes":
			return out(now.Add(-30 * time.Minute).Truncate(time.Minute))
		case "beginningOfLastMinute":
			return out(now.Add(-time.Minute).Truncate(time.Minute))
		}
	case "dateGenerate":
		if len(args) != 2 {
			break
		}
		d, err := time.ParseInLocation(dateLayout, args[0], loc)
		if err != nil {
			return "", unsupported("javascript:%s: date %q is not YYYY-MM-DD", expr, args[0])
		}
		switch args[1] {
		case "start":
			return out(d)
		case "end":
			return out(endOf(d.AddDate(0, 0, 1)))
		}
		t, err := time.ParseInLocation(dtLayout, args[0]+" "+args[1], loc)
		if err != nil {
			return "", unsupported("javascript:%s: time %q is not HH:MM:SS, start or end", expr, args[1])
		}
		return out(t)
	}
	return "", unsupported("javascript:%s is not evaluated", expr)
}

// splitArgs splits "1" or "'2024-01-01','end'" into plain strings.
func splitArgs(s string) ([]string, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, true
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if len(p) >= 2 && (p[0] == '\'' && p[len(p)-1] == '\'' || p[0] == '"' && p[len(p)-1] == '"') {
			p = p[1 : len(p)-1]
		} else if _, err := strconv.Atoi(p); err != nil {
			return nil, false
		}
		out = append(out, p)
	}
	return out, true
}
