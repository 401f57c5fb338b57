package writelock

// Held is the number of keys with a lock entry (locked or waited for).
func (l *Local) Held() int { return l.held() }
