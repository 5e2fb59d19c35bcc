// The one translation table of both apps (English and German). The language comes from
// ?lang=de|en, else navigator.language. Keys with a count have _one/_other forms (Intl.PluralRules).
// Times are shown in the browser's own time zone (Intl.DateTimeFormat).

const TEXT = {
  en: {
    'common.skip': 'Skip to content',
    'common.loading': 'Loading…',
    'common.retry': 'Try again',
    'common.cancel': 'Cancel',
    'common.back': 'Back',
    'common.newChat': 'Start a new chat',
    'common.you': 'You',
    'common.customer': 'Customer',
    'common.agent': 'Agent',
    'common.system': 'Frontdesk',
    'common.verified': 'verified',

    'conn.reconnecting': 'Connection lost – reconnecting…',
    'conn.notConnected': 'Not connected right now. Please try again in a moment.',

    'error.required': 'Please fill in this field.',
    'error.email': 'Please enter a valid e-mail address.',
    'error.invalid': 'This value is not valid.',
    'error.tooLong': 'This is too long.',
    'error.rateLimited': 'Too many requests. Please wait a moment.',
    'error.network': 'No connection to the server. Please check your network.',
    'error.unavailable': 'The service is busy right now. Please try again shortly.',
    'error.notFound': 'Not found (it may have ended).',
    'error.forbidden': 'That is not allowed here.',
    'error.session': 'Your session has expired. Please sign in again.',
    'error.generic': 'Something went wrong: {message}',

    'form.name': 'Your name',
    'form.email': 'E-mail address',
    'form.question': 'Your question',

    'chat.title': 'Chat with us',
    'chat.unavailableTitle': 'This chat is not available',
    'chat.unknownQueue': 'This chat does not exist. Please check the link.',
    'chat.conversation': 'Your conversation',
    'chat.messages': 'Messages',
    'chat.end': 'End chat',
    'chat.endTitle': 'End the chat?',
    'chat.sendTranscript': 'Send me the transcript by e-mail',
    'chat.emailTranscript': 'E-mail me the transcript',
    'chat.transcriptQueued': 'The transcript is on its way to your e-mail address.',
    'chat.inputLabel': 'Your message',
    'chat.placeholder': 'Write a message…',
    'chat.send': 'Send',
    'chat.hint': 'Enter sends, Shift+Enter starts a new line.',
    'chat.joined': '{name} joined the chat',
    'chat.left': '{name} left the chat',
    'chat.typing': '{name} is typing…',
    'chat.requeued': 'Your agent had to leave. You are back in the queue.',
    'chat.fallbackTitle': 'Nobody could take your chat in time.',
    'chat.fallbackText': 'We turned it into a request: {number}. We will answer you by e-mail.',
    'chat.ended': 'The chat has ended.',
    'chat.endedByAgent': 'The agent ended the chat.',
    'chat.endedByYou': 'You ended the chat.',
    'chat.endedMaxWait': 'The chat has ended. Your request number is {number}.',
    'chat.expired': 'This chat has expired. Please start a new one.',
    'chat.resolve': 'Mark as resolved',
    'chat.resolveTitle': 'Mark this conversation as resolved?',
    'chat.resolveText': 'You can write again at any time: that reopens it.',
    'chat.notePending': 'We are waiting for your reply — write to continue the conversation.',
    'chat.noteResolved': 'This conversation is resolved — write to reopen it.',
    'chat.statusPending': 'The agent is waiting for your reply.',
    'chat.statusResolvedByAgent': 'The agent marked the conversation as resolved.',
    'chat.statusResolvedByYou': 'You marked the conversation as resolved.',
    'chat.statusReopened': 'The conversation is open again.',

    'link.invalid': 'This link does not work any more: links in our e-mails are valid for 30 days. '
      + 'Start a new chat and we will gladly help you.',

    'consent.title': 'Privacy',
    'consent.agree': 'I have read this notice and agree.',
    'consent.required': 'Please agree to the notice to continue.',

    'prechat.title': 'How can we help?',
    'prechat.submit': 'Start chat',

    'faq.title': 'Maybe this answers your question',
    'faq.count_one': 'One suggested answer',
    'faq.count_other': '{n} suggested answers',
    'faq.answered': 'This answered my question',
    'faq.anyway': 'Start the chat anyway',
    'faq.gladTitle': 'Glad we could help!',
    'faq.gladText': 'If you have another question, we are here.',
    'faq.askMore': 'Ask something else',

    'closed.closedTitle': 'We are closed right now',
    'closed.noAgentsTitle': 'Nobody is available right now',
    'closed.closedHint': 'We are closed right now – you can leave us a message.',
    'closed.noAgentsHint': 'Nobody is available right now – you can leave us a message.',
    'closed.next': 'We are back {time}.',
    'closed.noNext': 'Leave us a message and we will get back to you by e-mail.',

    'offline.formTitle': 'Leave us a message',
    'offline.question': 'Your message',
    'offline.submit': 'Send message',
    'offline.doneTitle': 'Thank you! We received your message.',
    'offline.numberLabel': 'Your request number:',
    'offline.doneText': 'We will reply to {email}. A confirmation is on its way.',

    'wait.next': 'You are next in line.',
    'wait.position': 'You are number {n} in line.',
    'wait.estimate': 'Estimated wait: {time}',
    'wait.unknown': 'An agent will be with you shortly.',
    'wait.lessMinute': 'less than a minute',
    'wait.minutes_one': 'about one minute',
    'wait.minutes_other': 'about {n} minutes',

    'msg.sending': 'Sending',
    'msg.sent': 'Sent',
    'msg.read': 'Read',
    'msg.failed': 'Not sent',
    'msg.edit': 'Edit',
    'msg.attachments': 'Attachments',
    'msg.chooseOption': 'Choose an answer',

    'files.attach': 'Attach file',
    'files.attached': 'Attached files',
    'files.dropHere': 'Drop files here to attach them',
    'files.badType': '“{name}” cannot be sent: allowed are PDF, ZIP, JPEG, PNG, GIF, text, DOCX, XLSX and XLS.',
    'files.tooLarge': '“{name}” is too large (at most {max}).',
    'files.empty': '“{name}” is empty.',
    'files.tooMany': 'At most {max} files per message.',
    'files.tooManyShort': 'Too many attachments.',
    'files.network': '“{name}” could not be uploaded: no connection.',
    'files.failed': '“{name}” could not be uploaded: {reason}',
    'files.progress': 'Uploading {name}',
    'files.remove': 'Remove {name}',

    'widget.open': 'Chat with us',
    'widget.close': 'Close the chat',
    'widget.title': 'Chat',

    'agent.title': 'Frontdesk agent console',
    'agent.docTitle': 'Frontdesk – Agent console',
    'agent.signOut': 'Sign out',
    'agent.tabs': 'Conversations',
    'agent.unread_one': 'one unread message',
    'agent.unread_other': '{n} unread messages',
    'agent.privateNote': 'Private note',
    'agent.privateMode': 'Private note',
    'agent.privateHint': 'Private note: only agents see this, never the customer.',
    'agent.inputLabel': 'Message to the customer',
    'agent.placeholder': 'Message to the customer…',
    'agent.placeholderPrivate': 'Private note for agents…',
    'agent.queueLabel': 'Queue: {queue}',
    'agent.participants': 'Agents: {list}',
    'agent.leave': 'Leave chat',
    'agent.end': 'End chat',
    'agent.endTitle': 'End this chat?',
    'agent.endText': 'The chat with {name} will be closed for everyone.',
    'agent.closeTab': 'Close tab',
    'agent.joined': '{name} joined the chat',
    'agent.left': '{name} left the chat',
    'agent.youLeft': 'You left this chat.',
    'agent.requeued': 'This chat went back to the queue.',
    'agent.gone': 'This chat is no longer yours.',
    'agent.ended': 'The chat has ended.',
    'agent.endedByCustomer': 'The customer ended the chat.',
    'agent.endedByAgent': 'The chat was ended by an agent.',
    'agent.customerLeft': 'The customer has left.',
    'agent.setPending': 'Set pending',
    'agent.resolve': 'Resolve',
    'agent.settingStatus': 'Setting the status…',
    'agent.statusLabel': 'Status: {status}',
    'agent.nowPending': 'The conversation with {name} is pending: it left your list and comes back when the customer writes.',
    'agent.nowResolved': 'The conversation with {name} is resolved and left your list.',
    'agent.resolvedByCustomer': '{name} marked the conversation as resolved; it left your list.',
    'agent.waitingAgain': 'The conversation with {name} is waiting in the queue again.',
    'agent.dismiss': 'Dismiss',
    'agent.reminderBadge': 'Reminder',
    'agent.reminder_one': 'Waiting for your answer since {time}: one unread message.',
    'agent.reminder_other': 'Waiting for your answer since {time}: {n} unread messages.',
    'agent.reminderAnnounce': 'Reminder: {name} is waiting for your answer.',

    'status.queued': 'Waiting',
    'status.open': 'Open',
    'status.pending': 'Pending',
    'status.resolved': 'Resolved',

    'role.owner': 'owner',
    'role.invited': 'invited',

    'presence.available': 'Available',
    'presence.away': 'Away',
    'presence.offline': 'Offline',
    'presence.availableHint': 'You are available: new chats pop up here.',
    'presence.awayHint': 'You are away: you get no new chats.',
    'presence.setAway': 'You were set to away because offers went unanswered.',

    'login.title': 'Sign in',
    'login.email': 'E-mail address',
    'login.password': 'Password',
    'login.submit': 'Sign in',
    'login.bad': 'Wrong e-mail address or password.',
    'login.signedOut': 'You are signed out.',

    'offer.region': 'Chat offers',
    'offer.title': 'New chat · {queue}',
    'offer.accept': 'Accept',
    'offer.reject': 'Reject',
    'offer.reason': 'Reason (optional)',
    'offer.rejectConfirm': 'Reject chat',
    'offer.accepting': 'Opening the chat…',
    'offer.expiresIn': 'Expires in {s} s',
    'offer.expiring': 'Expiring…',
    'offer.expired': 'The offer expired.',
    'offer.customerLeft': 'The customer has left.',
    'offer.unavailable': 'The offer was withdrawn.',
    'offer.gone': 'This offer is no longer available.',
    'offer.announce': 'New chat offer from {name} in {queue}',

    'invitation.title': '{name} invites you to a chat · {queue}',
    'invitation.accept': 'Join',
    'invitation.decline': 'Decline',
    'invitation.announce': '{name} invites you to a chat',

    'invite.button': 'Invite',
    'invite.legend': 'Invite a colleague or a queue',
    'invite.agent': 'Agent (id)',
    'invite.queue': 'Queue',
    'invite.target': 'Agent id or queue',
    'invite.send': 'Send invitation',
    'invite.agentHint': 'Pick a colleague from the list, or enter an agent id (yours is {id}).',
    'invite.queueHint': 'The next free agent of that queue is asked.',
    'invite.sent': 'Invitation sent…',
    'invite.pending': 'An invitation is already pending for this chat.',
    'invite.failed': 'The invitation failed: {reason}',
    'invite.noAgent': 'that agent is not online, has no room, or is in the chat already.',
    'invite.noQueue': 'nobody in that queue is free right now.',
    'invite.result.accepted': 'The invitation was accepted.',
    'invite.result.declined': 'The invitation was declined.',
    'invite.result.expired': 'The invitation expired.',

    'canned.button': 'Canned messages',
    'canned.title': 'Canned messages',
    'canned.search': 'Search',
    'canned.count_one': 'One message',
    'canned.count_other': '{n} messages',
    'canned.none': 'No canned message matches.',

    'options.button': 'Option menu',
    'options.title': 'Option menu',
    'options.prompt': 'Question for the customer',
    'options.choices': 'Choices (2 to 10)',
    'options.choice': 'Choice {n}',
    'options.remove': 'Remove choice {n}',
    'options.add': 'Add choice',
    'options.send': 'Send menu',
    'options.needPrompt': 'Please write the question.',
    'options.emptyChoice': 'Please fill in every choice.',
    'options.duplicate': 'Every choice must be different.',
    'options.count': 'Give 2 to 10 choices.',

    'requests.tab': 'Offline requests',
    'requests.title': 'Offline requests',
    'requests.show': 'Show',
    'requests.open': 'Open',
    'requests.handled': 'Handled',
    'requests.refresh': 'Refresh',
    'requests.read': 'Read message',
    'requests.handle': 'Mark as handled',
    'requests.handledAt': 'Handled {time}',
    'requests.done': '{number} is marked as handled.',
    'requests.none': 'No requests.',
    'requests.count_one': 'One request',
    'requests.count_other': '{n} requests',
    'requests.openCount_one': 'one open request',
    'requests.openCount_other': '{n} open requests',
  },
  de: {
    'common.skip': 'Zum Inhalt springen',
    'common.loading': 'Wird geladen …',
    'common.retry': 'Erneut versuchen',
    'common.cancel': 'Abbrechen',
    'common.back': 'Zurück',
    'common.newChat': 'Neuen Chat beginnen',
    'common.you': 'Sie',
    'common.customer': 'Kunde',
    'common.agent': 'Mitarbeiter',
    'common.system': 'Frontdesk',
    'common.verified': 'bestätigt',

    'conn.reconnecting': 'Verbindung unterbrochen – wird wiederhergestellt …',
    'conn.notConnected': 'Gerade keine Verbindung. Bitte gleich noch einmal versuchen.',

    'error.required': 'Bitte füllen Sie dieses Feld aus.',
    'error.email': 'Bitte geben Sie eine gültige E-Mail-Adresse ein.',
    'error.invalid': 'Dieser Wert ist ungültig.',
    'error.tooLong': 'Das ist zu lang.',
    'error.rateLimited': 'Zu viele Anfragen. Bitte warten Sie einen Moment.',
    'error.network': 'Keine Verbindung zum Server. Bitte prüfen Sie Ihr Netzwerk.',
    'error.unavailable': 'Der Dienst ist gerade ausgelastet. Bitte versuchen Sie es gleich noch einmal.',
    'error.notFound': 'Nicht gefunden (vielleicht schon beendet).',
    'error.forbidden': 'Das ist hier nicht erlaubt.',
    'error.session': 'Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.',
    'error.generic': 'Etwas ist schiefgegangen: {message}',

    'form.name': 'Ihr Name',
    'form.email': 'E-Mail-Adresse',
    'form.question': 'Ihre Frage',

    'chat.title': 'Chatten Sie mit uns',
    'chat.unavailableTitle': 'Dieser Chat ist nicht verfügbar',
    'chat.unknownQueue': 'Diesen Chat gibt es nicht. Bitte prüfen Sie den Link.',
    'chat.conversation': 'Ihr Gespräch',
    'chat.messages': 'Nachrichten',
    'chat.end': 'Chat beenden',
    'chat.endTitle': 'Chat beenden?',
    'chat.sendTranscript': 'Verlauf per E-Mail an mich senden',
    'chat.emailTranscript': 'Verlauf per E-Mail senden',
    'chat.transcriptQueued': 'Der Verlauf ist unterwegs an Ihre E-Mail-Adresse.',
    'chat.inputLabel': 'Ihre Nachricht',
    'chat.placeholder': 'Nachricht schreiben …',
    'chat.send': 'Senden',
    'chat.hint': 'Eingabetaste sendet, Umschalt+Eingabe beginnt eine neue Zeile.',
    'chat.joined': '{name} ist dem Chat beigetreten',
    'chat.left': '{name} hat den Chat verlassen',
    'chat.typing': '{name} schreibt …',
    'chat.requeued': 'Ihr Ansprechpartner musste gehen. Sie sind wieder in der Warteschlange.',
    'chat.fallbackTitle': 'Leider konnte niemand Ihren Chat rechtzeitig annehmen.',
    'chat.fallbackText': 'Wir haben daraus eine Anfrage gemacht: {number}. Wir antworten Ihnen per E-Mail.',
    'chat.ended': 'Der Chat ist beendet.',
    'chat.endedByAgent': 'Der Mitarbeiter hat den Chat beendet.',
    'chat.endedByYou': 'Sie haben den Chat beendet.',
    'chat.endedMaxWait': 'Der Chat ist beendet. Ihre Anfragenummer ist {number}.',
    'chat.expired': 'Dieser Chat ist abgelaufen. Bitte beginnen Sie einen neuen.',
    'chat.resolve': 'Als erledigt markieren',
    'chat.resolveTitle': 'Dieses Gespräch als erledigt markieren?',
    'chat.resolveText': 'Sie können jederzeit wieder schreiben: dann geht das Gespräch weiter.',
    'chat.notePending': 'Wir warten auf Ihre Antwort – schreiben Sie einfach, um das Gespräch fortzusetzen.',
    'chat.noteResolved': 'Dieses Gespräch ist erledigt – schreiben Sie, um es wieder zu öffnen.',
    'chat.statusPending': 'Der Mitarbeiter wartet auf Ihre Antwort.',
    'chat.statusResolvedByAgent': 'Der Mitarbeiter hat das Gespräch als erledigt markiert.',
    'chat.statusResolvedByYou': 'Sie haben das Gespräch als erledigt markiert.',
    'chat.statusReopened': 'Das Gespräch ist wieder offen.',

    'link.invalid': 'Dieser Link funktioniert nicht mehr: Links in unseren E-Mails gelten 30 Tage. '
      + 'Beginnen Sie einfach einen neuen Chat, wir helfen Ihnen gern.',

    'consent.title': 'Datenschutz',
    'consent.agree': 'Ich habe diesen Hinweis gelesen und bin einverstanden.',
    'consent.required': 'Bitte stimmen Sie dem Hinweis zu, um fortzufahren.',

    'prechat.title': 'Wie können wir helfen?',
    'prechat.submit': 'Chat beginnen',

    'faq.title': 'Vielleicht beantwortet das Ihre Frage',
    'faq.count_one': 'Eine passende Antwort',
    'faq.count_other': '{n} passende Antworten',
    'faq.answered': 'Das hat meine Frage beantwortet',
    'faq.anyway': 'Trotzdem Chat beginnen',
    'faq.gladTitle': 'Schön, dass wir helfen konnten!',
    'faq.gladText': 'Wenn Sie noch eine Frage haben, sind wir da.',
    'faq.askMore': 'Etwas anderes fragen',

    'closed.closedTitle': 'Wir haben gerade geschlossen',
    'closed.noAgentsTitle': 'Gerade ist niemand erreichbar',
    'closed.closedHint': 'Wir haben gerade geschlossen – Sie können uns eine Nachricht hinterlassen.',
    'closed.noAgentsHint': 'Gerade ist niemand erreichbar – Sie können uns eine Nachricht hinterlassen.',
    'closed.next': 'Wir sind wieder da: {time}.',
    'closed.noNext': 'Hinterlassen Sie uns eine Nachricht, wir antworten per E-Mail.',

    'offline.formTitle': 'Nachricht hinterlassen',
    'offline.question': 'Ihre Nachricht',
    'offline.submit': 'Nachricht senden',
    'offline.doneTitle': 'Vielen Dank! Ihre Nachricht ist angekommen.',
    'offline.numberLabel': 'Ihre Anfragenummer:',
    'offline.doneText': 'Wir antworten an {email}. Eine Bestätigung ist unterwegs.',

    'wait.next': 'Sie sind als Nächstes dran.',
    'wait.position': 'Sie sind auf Platz {n} der Warteschlange.',
    'wait.estimate': 'Geschätzte Wartezeit: {time}',
    'wait.unknown': 'Gleich ist jemand für Sie da.',
    'wait.lessMinute': 'weniger als eine Minute',
    'wait.minutes_one': 'etwa eine Minute',
    'wait.minutes_other': 'etwa {n} Minuten',

    'msg.sending': 'Wird gesendet',
    'msg.sent': 'Gesendet',
    'msg.read': 'Gelesen',
    'msg.failed': 'Nicht gesendet',
    'msg.edit': 'Bearbeiten',
    'msg.attachments': 'Anhänge',
    'msg.chooseOption': 'Antwort wählen',

    'files.attach': 'Datei anhängen',
    'files.attached': 'Angehängte Dateien',
    'files.dropHere': 'Dateien hier ablegen, um sie anzuhängen',
    'files.badType': '„{name}“ kann nicht gesendet werden: erlaubt sind PDF, ZIP, JPEG, PNG, GIF, Text, DOCX, XLSX und XLS.',
    'files.tooLarge': '„{name}“ ist zu groß (höchstens {max}).',
    'files.empty': '„{name}“ ist leer.',
    'files.tooMany': 'Höchstens {max} Dateien pro Nachricht.',
    'files.tooManyShort': 'Zu viele Anhänge.',
    'files.network': '„{name}“ konnte nicht hochgeladen werden: keine Verbindung.',
    'files.failed': '„{name}“ konnte nicht hochgeladen werden: {reason}',
    'files.progress': '{name} wird hochgeladen',
    'files.remove': '{name} entfernen',

    'widget.open': 'Chatten Sie mit uns',
    'widget.close': 'Chat schließen',
    'widget.title': 'Chat',

    'agent.title': 'Frontdesk Mitarbeiterkonsole',
    'agent.docTitle': 'Frontdesk – Mitarbeiterkonsole',
    'agent.signOut': 'Abmelden',
    'agent.tabs': 'Gespräche',
    'agent.unread_one': 'eine ungelesene Nachricht',
    'agent.unread_other': '{n} ungelesene Nachrichten',
    'agent.privateNote': 'Interne Notiz',
    'agent.privateMode': 'Interne Notiz',
    'agent.privateHint': 'Interne Notiz: nur Mitarbeiter sehen sie, nie der Kunde.',
    'agent.inputLabel': 'Nachricht an den Kunden',
    'agent.placeholder': 'Nachricht an den Kunden …',
    'agent.placeholderPrivate': 'Interne Notiz für Mitarbeiter …',
    'agent.queueLabel': 'Warteschlange: {queue}',
    'agent.participants': 'Mitarbeiter: {list}',
    'agent.leave': 'Chat verlassen',
    'agent.end': 'Chat beenden',
    'agent.endTitle': 'Diesen Chat beenden?',
    'agent.endText': 'Der Chat mit {name} wird für alle geschlossen.',
    'agent.closeTab': 'Tab schließen',
    'agent.joined': '{name} ist dem Chat beigetreten',
    'agent.left': '{name} hat den Chat verlassen',
    'agent.youLeft': 'Sie haben diesen Chat verlassen.',
    'agent.requeued': 'Dieser Chat ist zurück in der Warteschlange.',
    'agent.gone': 'Dieser Chat gehört nicht mehr zu Ihnen.',
    'agent.ended': 'Der Chat ist beendet.',
    'agent.endedByCustomer': 'Der Kunde hat den Chat beendet.',
    'agent.endedByAgent': 'Ein Mitarbeiter hat den Chat beendet.',
    'agent.customerLeft': 'Der Kunde ist gegangen.',
    'agent.setPending': 'Auf ausstehend setzen',
    'agent.resolve': 'Erledigen',
    'agent.settingStatus': 'Der Status wird gesetzt …',
    'agent.statusLabel': 'Status: {status}',
    'agent.nowPending': 'Das Gespräch mit {name} ist ausstehend: Es hat Ihre Liste verlassen und kommt zurück, sobald der Kunde schreibt.',
    'agent.nowResolved': 'Das Gespräch mit {name} ist erledigt und hat Ihre Liste verlassen.',
    'agent.resolvedByCustomer': '{name} hat das Gespräch als erledigt markiert; es hat Ihre Liste verlassen.',
    'agent.waitingAgain': 'Das Gespräch mit {name} wartet wieder in der Warteschlange.',
    'agent.dismiss': 'Ausblenden',
    'agent.reminderBadge': 'Erinnerung',
    'agent.reminder_one': 'Wartet seit {time} auf Ihre Antwort: eine ungelesene Nachricht.',
    'agent.reminder_other': 'Wartet seit {time} auf Ihre Antwort: {n} ungelesene Nachrichten.',
    'agent.reminderAnnounce': 'Erinnerung: {name} wartet auf Ihre Antwort.',

    'status.queued': 'Wartend',
    'status.open': 'Offen',
    'status.pending': 'Ausstehend',
    'status.resolved': 'Erledigt',

    'role.owner': 'zuständig',
    'role.invited': 'eingeladen',

    'presence.available': 'Verfügbar',
    'presence.away': 'Abwesend',
    'presence.offline': 'Offline',
    'presence.availableHint': 'Sie sind verfügbar: neue Chats erscheinen hier.',
    'presence.awayHint': 'Sie sind abwesend: Sie bekommen keine neuen Chats.',
    'presence.setAway': 'Sie wurden auf abwesend gesetzt, weil Angebote unbeantwortet blieben.',

    'login.title': 'Anmelden',
    'login.email': 'E-Mail-Adresse',
    'login.password': 'Passwort',
    'login.submit': 'Anmelden',
    'login.bad': 'E-Mail-Adresse oder Passwort ist falsch.',
    'login.signedOut': 'Sie sind abgemeldet.',

    'offer.region': 'Chat-Angebote',
    'offer.title': 'Neuer Chat · {queue}',
    'offer.accept': 'Annehmen',
    'offer.reject': 'Ablehnen',
    'offer.reason': 'Grund (freiwillig)',
    'offer.rejectConfirm': 'Chat ablehnen',
    'offer.accepting': 'Chat wird geöffnet …',
    'offer.expiresIn': 'Läuft ab in {s} s',
    'offer.expiring': 'Läuft ab …',
    'offer.expired': 'Das Angebot ist abgelaufen.',
    'offer.customerLeft': 'Der Kunde ist gegangen.',
    'offer.unavailable': 'Das Angebot wurde zurückgezogen.',
    'offer.gone': 'Dieses Angebot ist nicht mehr verfügbar.',
    'offer.announce': 'Neues Chat-Angebot von {name} in {queue}',

    'invitation.title': '{name} lädt Sie zu einem Chat ein · {queue}',
    'invitation.accept': 'Beitreten',
    'invitation.decline': 'Ablehnen',
    'invitation.announce': '{name} lädt Sie zu einem Chat ein',

    'invite.button': 'Einladen',
    'invite.legend': 'Kollegen oder Warteschlange einladen',
    'invite.agent': 'Mitarbeiter (ID)',
    'invite.queue': 'Warteschlange',
    'invite.target': 'Mitarbeiter-ID oder Warteschlange',
    'invite.send': 'Einladung senden',
    'invite.agentHint': 'Wählen Sie einen Kollegen aus der Liste oder geben Sie eine Mitarbeiter-ID ein (Ihre ist {id}).',
    'invite.queueHint': 'Der nächste freie Mitarbeiter dieser Warteschlange wird gefragt.',
    'invite.sent': 'Einladung gesendet …',
    'invite.pending': 'Für diesen Chat läuft schon eine Einladung.',
    'invite.failed': 'Die Einladung ist fehlgeschlagen: {reason}',
    'invite.noAgent': 'Dieser Mitarbeiter ist nicht angemeldet, hat keinen Platz oder ist schon im Chat.',
    'invite.noQueue': 'in dieser Warteschlange ist gerade niemand frei.',
    'invite.result.accepted': 'Die Einladung wurde angenommen.',
    'invite.result.declined': 'Die Einladung wurde abgelehnt.',
    'invite.result.expired': 'Die Einladung ist abgelaufen.',

    'canned.button': 'Textbausteine',
    'canned.title': 'Textbausteine',
    'canned.search': 'Suchen',
    'canned.count_one': 'Ein Textbaustein',
    'canned.count_other': '{n} Textbausteine',
    'canned.none': 'Kein Textbaustein passt.',

    'options.button': 'Auswahlmenü',
    'options.title': 'Auswahlmenü',
    'options.prompt': 'Frage an den Kunden',
    'options.choices': 'Antworten (2 bis 10)',
    'options.choice': 'Antwort {n}',
    'options.remove': 'Antwort {n} entfernen',
    'options.add': 'Antwort hinzufügen',
    'options.send': 'Menü senden',
    'options.needPrompt': 'Bitte schreiben Sie die Frage.',
    'options.emptyChoice': 'Bitte füllen Sie jede Antwort aus.',
    'options.duplicate': 'Jede Antwort muss anders sein.',
    'options.count': 'Bitte 2 bis 10 Antworten angeben.',

    'requests.tab': 'Offline-Anfragen',
    'requests.title': 'Offline-Anfragen',
    'requests.show': 'Anzeigen',
    'requests.open': 'Offen',
    'requests.handled': 'Erledigt',
    'requests.refresh': 'Aktualisieren',
    'requests.read': 'Nachricht lesen',
    'requests.handle': 'Als erledigt markieren',
    'requests.handledAt': 'Erledigt {time}',
    'requests.done': '{number} ist als erledigt markiert.',
    'requests.none': 'Keine Anfragen.',
    'requests.count_one': 'Eine Anfrage',
    'requests.count_other': '{n} Anfragen',
    'requests.openCount_one': 'eine offene Anfrage',
    'requests.openCount_other': '{n} offene Anfragen',
  },
};

function pickLanguage() {
  const wanted = new URLSearchParams(location.search).get('lang') || navigator.language || 'en';
  return wanted.toLowerCase().startsWith('de') ? 'de' : 'en';
}

export const lang = pickLanguage();

/** The text of ``key`` with {placeholders} filled in (as text: the callers set it with textContent). */
export function t(key, vars = {}) {
  return translate(lang, key, vars);
}

/** t() in a given language ('de' or 'en'; anything else is English). */
export function translate(language, key, vars = {}) {
  const table = TEXT[language] || TEXT.en;
  let text;
  if (typeof vars.n === 'number') {
    const form = `${key}_${new Intl.PluralRules(language).select(vars.n)}`;
    text = table[form] ?? table[`${key}_other`] ?? TEXT.en[form] ?? TEXT.en[`${key}_other`];
  }
  text = text ?? table[key] ?? TEXT.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in vars ? String(vars[name]) : match));
}

/** Like t(), but values that are DOM nodes stay nodes: a list to append (e.g. a number that must not wrap). */
export function tParts(key, vars = {}) {
  const text = t(key, Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, v instanceof Node ? `\u0000${k}\u0000` : v])));
  return text.split('\u0000').map((part, i) => (i % 2 === 1 && vars[part] instanceof Node ? vars[part] : part));
}

/** Translate the static page: data-i18n (text), data-i18n-placeholder, -aria-label, -title. */
export function applyI18n(root) {
  const nodes = root.querySelectorAll('[data-i18n], [data-i18n-placeholder], [data-i18n-aria-label], [data-i18n-title]');
  for (const node of nodes) {
    if (node.dataset.i18n) node.textContent = t(node.dataset.i18n);
    if (node.dataset.i18nPlaceholder) node.setAttribute('placeholder', t(node.dataset.i18nPlaceholder));
    if (node.dataset.i18nAriaLabel) node.setAttribute('aria-label', t(node.dataset.i18nAriaLabel));
    if (node.dataset.i18nTitle) node.setAttribute('title', t(node.dataset.i18nTitle));
  }
}

const timeFormat = new Intl.DateTimeFormat(lang, { hour: 'numeric', minute: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(lang, { dateStyle: 'full', timeStyle: 'short' });

const shortDateTimeFormat = new Intl.DateTimeFormat(lang, { dateStyle: 'medium', timeStyle: 'short' });

/** 14:05 in the browser's time zone; with the date when it was not today (a conversation that
 *  outlives the page goes on for weeks). */
export function formatTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return date.toDateString() === new Date().toDateString() ? timeFormat.format(date) : shortDateTimeFormat.format(date);
}

/** "Monday, 3 March 2025 at 09:00" in the browser's time zone. */
export function formatDateTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : dateTimeFormat.format(date);
}

/** An estimated wait in seconds as words ("about 3 minutes"). */
export function formatWait(seconds) {
  if (seconds < 60) return t('wait.lessMinute');
  return t('wait.minutes', { n: Math.round(seconds / 60) });
}
