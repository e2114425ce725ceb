// Baseline: an empty program. Its run time is Node's (and, recorded, rewind's) startup;
// its log is the header alone. Subtracted from the others.
