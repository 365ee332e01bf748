; Included by electron-builder's NSIS installer (electron-builder.yml: nsis.include).
; The app writes its per-user "Upload to Cloudreve" Explorer entries when shell integration is turned on
; (main/shell/shell-integration.ts); remove them with the app.
!macro customUnInstall
  DeleteRegKey HKCU "Software\Classes\*\shell\CloudreveSync"
  DeleteRegKey HKCU "Software\Classes\Directory\shell\CloudreveSync"
  DeleteRegKey HKCU "Software\Classes\Directory\Background\shell\CloudreveSync"
  ; launch at login (main/shell/launch-at-login.ts registers it under this name)
  DeleteRegValue HKCU "Software\Microsoft\Windows\CurrentVersion\Run" "Cloudreve Sync"
!macroend
