"""PDF evidence reports: registers, case dossiers and oversight reports, drawn by WeasyPrint."""
