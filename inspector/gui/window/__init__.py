"""The main window and what belongs to it as a whole: menus, settings, recent files, welcome view, theme, start-up."""
