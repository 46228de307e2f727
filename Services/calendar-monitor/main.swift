import CalendarMonitor

await CalendarMonitorApp.main()
