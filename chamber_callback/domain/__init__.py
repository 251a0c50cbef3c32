"""Pure domain logic: no Flask, no database, time passed in explicitly."""
