"""django-q2 task functions for AI literacy (thin: they call a service)."""

from literacy.services import reminders


def send_training_reminders() -> str:
    """Daily: e-mail people whose required training expires soon, and their managers."""
    return f"{reminders.send_training_reminders()} reminder(s) sent"
