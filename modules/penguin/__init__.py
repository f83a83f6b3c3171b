"""Palmer penguins: species from four body measurements."""
