package mapping

import "time"

// Merge runs the field-level three-way merge of one pair (the rules are in
// the package documentation) and returns what to write to each side and
// the losing values. It is deterministic: the same input gives the same
// result. Errors are *ValueError (a value that cannot be converted) or a
// Resolver error (errors.Is(err, ErrUnresolved) when a reference is not
// paired yet: defer the record).
func (t *TableMap) Merge(in MergeInput) (*MergeResult, error) {
	res := &MergeResult{ToStackFlow: Canon{}, ToServiceNow: Canon{}}
	skew := in.Skew
	if skew <= 0 {
		skew = defaultMergeSkew
	}
	for _, k := range t.keys {
		if !k.active() {
			continue
		}
		if err := t.mergeKey(k, in, skew, res); err != nil {
			return nil, err
		}
	}
	if err := t.mergeCloseDefaults(in, res); err != nil {
		return nil, err
	}
	return res, nil
}

func (t *TableMap) mergeKey(k *key, in MergeInput, skew time.Duration, res *MergeResult) error {
	name := k.info.Name
	snv, sfv := in.CurSN[name], in.CurSF[name]
	changedSN := in.BaseSN == nil || in.BaseSN[name] != snv
	changedSF := in.BaseSF == nil || in.BaseSF[name] != sfv
	r := in.Resolver

	// writeSF / writeSN put the winning value on the other side when it
	// differs from what is there.
	writeSF := func() (bool, error) {
		c, err := k.toStackFlow(snv, r)
		if err != nil {
			return false, err
		}
		if c == sfv {
			return false, nil
		}
		res.ToStackFlow[name] = c
		return true, nil
	}
	writeSN := func() (bool, error) {
		c, err := k.toServiceNow(sfv, r)
		if err != nil {
			return false, err
		}
		if c == snv {
			return false, nil
		}
		res.ToServiceNow[name] = c
		return true, nil
	}
	conflict := func(winner Side, rule string) {
		res.Conflicts = append(res.Conflicts, Conflict{Key: name, ServiceNow: snv, StackFlow: sfv, Winner: winner, Rule: rule})
	}

	switch {
	case k.toSF && !k.toSN:
		// One way, ServiceNow → StackFlow: StackFlow is forced to match.
		wrote, err := writeSF()
		if err != nil {
			return err
		}
		if wrote && changedSF && !(in.BaseSF == nil && sfv == "") {
			conflict(ServiceNow, RuleOneWay)
		}
		return nil
	case k.toSN && !k.toSF:
		wrote, err := writeSN()
		if err != nil {
			return err
		}
		if wrote && changedSN && !(in.BaseSN == nil && snv == "") {
			conflict(StackFlow, RuleOneWay)
		}
		return nil
	}

	// Bidirectional.
	if !changedSN && !changedSF {
		return nil
	}
	same, err := k.same(snv, sfv, r)
	if err != nil {
		return err
	}
	if same {
		return nil
	}
	switch {
	case changedSN && !changedSF:
		_, err := writeSF()
		return err
	case changedSF && !changedSN:
		_, err := writeSN()
		return err
	}

	// Both changed, to values that do not convert to each other.
	var winner Side
	var rule string
	switch k.info.Ownership {
	case OwnServiceNow:
		winner, rule = ServiceNow, RuleOwner
	case OwnStackFlow:
		winner, rule = StackFlow, RuleOwner
	case OwnOrigin:
		winner, rule = in.Origin, RuleOrigin
		if winner != ServiceNow && winner != StackFlow {
			winner = t.defaultSide
		}
	case OwnFillIfEmpty:
		switch {
		case snv == "":
			_, err := writeSN()
			return err
		case sfv == "":
			_, err := writeSF()
			return err
		}
		conflict(0, RuleFillKeptBoth)
		return nil
	default: // OwnLatest
		winner, rule = t.latest(in, skew)
	}
	if winner == ServiceNow {
		_, err = writeSF()
	} else {
		_, err = writeSN()
	}
	if err != nil {
		return err
	}
	conflict(winner, rule)
	return nil
}

// latest picks the side with the later edit; edits within skew of each
// other (or with a time unknown) go to the table's default side.
func (t *TableMap) latest(in MergeInput, skew time.Duration) (Side, string) {
	if in.UpdatedSN.IsZero() || in.UpdatedSF.IsZero() {
		return t.defaultSide, RuleLatestSkew
	}
	d := in.UpdatedSN.Sub(in.UpdatedSF)
	switch {
	case d > skew:
		return ServiceNow, RuleLatest
	case d < -skew:
		return StackFlow, RuleLatest
	}
	return t.defaultSide, RuleLatestSkew
}

// mergeCloseDefaults adds close_code / close_notes when the merge resolves
// or closes an incident in ServiceNow and neither side has them: on
// ServiceNow so the write is not refused, and on StackFlow so both sides
// agree afterwards.
func (t *TableMap) mergeCloseDefaults(in MergeInput, res *MergeResult) error {
	cur := in.CurSN.With(res.ToServiceNow)
	for f, def := range t.closeDefaults(res.ToServiceNow, in.CurSN) {
		k := t.keyForSN(f)
		if k == nil || !k.toSN {
			continue
		}
		if cur[k.info.Name] != "" {
			continue
		}
		res.ToServiceNow[k.info.Name] = def
		if !k.toSF {
			continue
		}
		sfv := in.CurSF.With(res.ToStackFlow)[k.info.Name]
		if sfv != "" {
			continue
		}
		c, err := k.toStackFlow(def, in.Resolver)
		if err != nil {
			return err
		}
		res.ToStackFlow[k.info.Name] = c
	}
	return nil
}
