// English and French. Category labels come from the server (/v1/categories label_en,
// label_fr); everything else is here. Elements with data-i18n="key" get their text set,
// data-i18n-placeholder / data-i18n-aria their placeholder / aria-label.

const STRINGS = {
  en: {
    'app.title': 'fieldnav',
    'net.online': 'Online',
    'net.offline': 'Offline',
    'net.offlinePack': 'Offline · saved area',
    'net.pending': '{n} to send',
    'lang.switch': 'FR',
    'lang.switchLabel': 'FR: passer au français',
    'tab.nearby': 'Nearby',
    'tab.handoff': '211',
    'tab.offline': 'Offline',
    'tab.account': 'Account',

    'signin.title': 'Sign in',
    'signin.text': 'Paste the access token your agency gave you.',
    'signin.token': 'Access token',
    'signin.submit': 'Sign in',
    'signin.demo': 'Local demo: open the link that `make run` prints.',
    'signin.refused': 'This token was refused (expired, revoked or not for this server). Ask for a new one.',
    'signin.unreachable': 'Cannot reach the server. Check the connection and try again.',
    'signin.empty': 'Paste a token first.',
    'account.title': 'Account',
    'account.who': 'Signed in as {sub}',
    'account.role': 'Role: {role} · agency: {agency}',
    'account.expires': 'Token valid until {time}',
    'account.language': 'Language',
    'account.signout': 'Sign out',
    'account.signoutPending': '{n} handoff(s) or report(s) are not sent yet and will be deleted. Sign out anyway?',

    'chips.label': 'Categories',
    'chips.more': 'More',
    'chips.fewer': 'Fewer',

    'place.refused': 'Location unavailable. Choose a place:',
    'place.mapCentre': 'Use map centre',
    'place.locate': 'Use my location',
    'place.fromDevice': 'from your location',
    'place.fromPlace': 'from {place}',
    'place.mapCentreName': 'the map centre',
    // The place chooser (places.js): GET /v1/places as the worker types.
    'place.search': 'Town, postal code or address',
    'place.searchOpen': 'Find a place',
    'place.searching': 'Searching…',
    'place.found': '{n} places found',
    'place.noMatch': 'No place found. Try a town, a postal code (K8A) or a street address.',
    'place.typeMore': 'Type at least 2 characters.',
    'place.searchFailed': 'The search is unavailable right now.',
    'place.offlineList': 'Offline: places from the built-in list.',
    'place.kind.city': 'Town',
    'place.kind.postal_code': 'Postal code',
    'place.kind.postal_prefix': 'Postal area',
    'place.kind.address': 'Address',

    'list.title': 'Nearest services',
    'list.titleCategory': '{category}',
    'list.expand': 'List',
    'list.collapse': 'Map',
    'list.loading': 'Loading…',
    'list.empty': 'No matching services nearby.',
    'list.offlineNoPack': 'You are offline and no area is saved on this phone. Save an area while online to search offline.',
    'list.offlineData': 'offline data of {date}',
    'list.error': 'Could not load the list: {detail}',
    'list.noOrigin': 'Choose a place to see the nearest services.',

    'result.call': 'Call',
    'result.directions': 'Directions',
    'result.details': 'Details',
    'result.callToConnect': 'Call to connect',
    'result.approx': 'about {d}',

    'hours.open': 'Open',
    'hours.closed': 'Closed',
    'hours.unknown': 'Hours unknown',
    'hours.always': 'Open 24/7',
    'hours.closes': 'closes {time}',
    'hours.opens': 'opens {time}',

    'capacity.free': '{n} {unit} free',
    'capacity.full': 'Full',
    'capacity.asOf': 'as of {time}',
    'unit.beds': 'beds',
    'unit.spaces': 'spaces',
    'unit.rooms': 'rooms',

    'access.walk_in': 'Walk-in',
    'access.call_first': 'Call first',
    'access.referral': 'Referral needed',
    'access.call_to_connect': 'Call to connect',

    'detail.back': 'Back',
    'detail.hours': 'Hours',
    'detail.today': 'Today: {hours}',
    'detail.capacity': 'Capacity',
    'detail.eligibility': 'Eligibility',
    'detail.ages': 'Ages {min}–{max}',
    'detail.agesFrom': 'Ages {min} and up',
    'detail.agesTo': 'Ages up to {max}',
    'detail.languages': 'Languages',
    'detail.accessibility': 'Accessibility',
    'detail.address': 'Address',
    'detail.phones': 'Phones',
    'detail.web': 'Website',
    'detail.email': 'Email',
    'detail.verified': 'Last verified {date}',
    'detail.handoff': 'Hand over to 211',
    'detail.notFound': 'This service is not available offline.',
    'detail.webMap': 'Web map',

    'handoff.title': 'Hand over to 211',
    'handoff.danger': 'Imminent danger? Call 911.',
    'handoff.consent': '1. Consent',
    'handoff.script': '“I can pass your situation to 211, a free and confidential service. A navigator will call you back to help you find services. I will share only what is needed. Do you agree?”',
    'handoff.consentYes': 'Agrees (verbal consent)',
    'handoff.consentNo': 'Declines: anonymous handoff',
    'handoff.needs': '2. Needs',
    'handoff.note': 'Note for the navigator (optional)',
    'handoff.urgency': '3. Urgency',
    'handoff.routine': 'Routine',
    'handoff.urgent': 'Urgent',
    'handoff.callback': '4. Callback',
    'handoff.callbackPhone': 'Call back at this number',
    'handoff.anonymous': 'Anonymous: no callback',
    'handoff.phone': 'Callback number',
    'handoff.language': 'Preferred language',
    'handoff.interpreter': 'Interpreter needed',
    'handoff.attend': 'A navigator must come to this place',
    'handoff.suggested': 'Suggested: {name}',
    'handoff.send': 'Send to 211',
    'handoff.errConsent': 'Record the person’s answer to the consent question.',
    'handoff.errNeeds': 'Choose at least one need.',
    'handoff.errPhone': 'Enter a callback number, or choose anonymous.',
    'handoff.queued': 'Handoff saved. It will be sent as soon as the network is back.',
    'handoff.sent': 'Handoff sent to {centre}.',
    'handoff.consentFirst': 'Ask this first: the rest of the form opens with the answer.',
    'handoff.errPhoneInvalid': 'This is not a valid phone number. Check the digits (e.g. 416 555 0199), or choose anonymous.',
    'handoff.labelStep': '5. Your label (stays on this phone)',
    'handoff.label': 'A label to find it again (not the person’s name)',
    'handoff.labelHelp': 'For example “Queen St, 2 a.m.”. It is never sent to 211.',
    'handoff.queuedSignIn': 'Handoff saved. It will be sent as soon as you sign in again.',
    'handoff.needsFix': 'Not sent: needs a correction',
    'handoff.fix': 'Correct and send',
    'handoff.waitingSignIn': 'Waiting for you to sign in: will be sent then',
    'handoff.waitingFor': 'Waiting for {subject} to sign in: only they can send it',
    'handoff.sentTitle': 'Sent to {centre}',
    'handoff.reference': 'Reference:',
    'handoff.referenceHelp': 'Read it out to the person: they can quote it when they call 211.',
    'handoff.referenceShort': 'Ref. {code}',
    'handoff.mine': 'My handoffs',
    'handoff.none': 'No handoffs yet.',
    'handoff.waiting': 'Waiting for network: will be sent automatically',
    'handoff.sending': 'Sending…',
    'handoff.rejected': 'Not accepted: {detail}',
    'handoff.discard': 'Discard',
    'handoff.line': 'Navigator line',
    'handoff.window': 'Callback expected by {time}',
    'handoff.anonymousShort': 'Anonymous',
    'handoff.signin': 'Sign in again to send it.',
    'status.requested': 'Sent, waiting for a navigator',
    'status.accepted': 'Accepted by a navigator',
    'status.in-progress': 'In progress',
    'status.on-hold': 'On hold',
    'status.completed': 'Completed',
    'status.rejected': 'Declined by 211',
    'status.failed': 'Could not be completed',
    'status.cancelled': 'Cancelled',
    'status.entered-in-error': 'Entered in error',
    'urgency.routine': 'Routine',
    'urgency.urgent': 'Urgent',

    'offline.title': 'Offline area',
    'offline.text': 'Keep an area on this phone: the map, the filters, the list and the cards then work without a network, and updates arrive when it returns.',
    'offline.save': 'Save this area for offline',
    'offline.saving': 'Saving: {step}',
    'offline.step.build': 'preparing the pack',
    'offline.step.map': 'downloading the map',
    'offline.step.basemap': 'downloading the basemap',
    'offline.step.services': 'downloading the services',
    'offline.step.sync': 'getting ready for updates',
    'offline.saved': 'Area saved',
    'offline.summary': '{count} services · {size}',
    'offline.savedAt': 'Saved {time}',
    'offline.withBasemap': 'with basemap',
    'offline.synced': 'Updated {time}',
    'offline.none': 'No area saved yet.',
    'offline.sync': 'Update now',
    'offline.delete': 'Delete saved area',
    'offline.needNetwork': 'You need a network connection to save an area.',
    'offline.tooLarge': 'This area is too large: zoom in and try again.',
    'offline.failed': 'Could not save the area: {detail}',
    'offline.showArea': 'Show on map',

    'session.lost': 'Signed out: the saved area, the list and the cards still work on this phone.',
    'session.lostPending': '{n} handoff(s) or report(s) will be sent once you sign in.',
    'session.ending': 'Your sign-in ends at {time}. Sign in again before then to keep sending handoffs.',
    'session.endingRenews': 'Your sign-in ends at {time}. It renews itself as soon as the network is back.',
    'session.endedRenews': 'Sign-in ended offline: it renews itself when the network is back. Saved data and handoffs keep working.',
    'session.signIn': 'Sign in',
    'session.lostProvider': 'Signed out: sign in again to save counts. What you see may be out of date.',
    'signin.continue': 'Back to the app (saved data)',
    'signin.continuePublic': 'Back to the map and the list',
    'session.anonymous': 'Not signed in: the map and the list are open. Sign in to send handoffs and reports.',
    'net.signedOut': 'Signed out',
    'account.expired': 'Token ended {time}',
    'role.field_worker': 'Field worker',
    'role.supervisor': 'Supervisor',
    'role.navigator': '211 navigator',
    'role.admin': 'Administrator',
    'role.provider': 'Service provider',

    'filters.label': 'Filters',
    'filters.openNow': 'Open now',
    'filters.bedsFree': 'Beds free',
    'filters.age': 'Age',
    'filters.ageSet': 'Age {age}',
    'filters.ageLabel': 'Age of the person',
    'filters.ageApply': 'Apply',
    'filters.ageClear': 'Any age',
    'filters.ageHelp': 'Services whose age limits include this age, and those with none.',
    'filters.who': 'Who',
    'filters.whoSet': 'Who ({n})',
    'filters.whoLabel': 'The person is one of',
    'filters.genderLabel': 'Gender',
    'filters.genderAny': 'Any',
    'filters.whoClear': 'Anyone',
    'filters.whoHelp': 'Services for the groups chosen, and those that state no restriction. A gender leaves out only the services kept for another gender. The service area keeps the services whose area holds this address, and those whose area is not known.',
    'gender.woman': 'Woman',
    'gender.man': 'Man',
    'gender.gender_diverse': 'Gender-diverse',
    'population.women': 'Women',
    'population.men': 'Men',
    'population.gender_diverse': 'Gender-diverse people',
    'population.youth': 'Youth',
    'population.seniors': 'Seniors',
    'population.families': 'Families',
    'population.indigenous': 'Indigenous people',
    'population.newcomers': 'Newcomers',
    'population.veterans': 'Veterans',
    'population.pets': 'People with pets',
    'population.fleeing_violence': 'Fleeing violence',
    'population.2slgbtq': '2SLGBTQ+ people',
    'result.populations': 'Serves:',
    'result.unrestricted': 'No stated restriction',
    'filters.servesLabel': 'Service area',
    'filters.servesHere': 'Only services that serve this address',
    'result.servesYes': 'Serves this address',
    'result.servesNo': 'Outside its service area',
    'list.filtered': 'filtered',
    'list.signedOutNoPack': 'You are signed out and no area is saved on this phone. Sign in to see the nearest services.',
    'result.who': 'For:',
    'result.whoUnknown': 'Eligibility not stated',
    'result.callName': 'Call {name}',
    'capacity.noDate': 'date unknown',
    'hours.allDay': 'all day',

    'offline.what': 'What to keep',
    'offline.kindContent': 'Around me: at least {n} of each',
    'offline.categories': 'Categories to keep',
    'offline.kindView': 'Exactly the map view (my patrol area)',
    'offline.step.plan': 'measuring the area',
    'offline.step.queued': 'waiting for the server (other areas are being saved)',
    'offline.reach': 'Reaches {d} around the chosen place.',
    'offline.noneOf': 'none in this area',
    'offline.thin': 'thin',
    'offline.thinWarning': 'Thin here: {categories}. The nearest others are outside the saved area: save a larger area, or call 211.',
    'offline.needSignIn': 'Sign in again to save an area.',

    'map.title': 'Map',
    'map.zoomIn': 'Zoom in',
    'map.zoomOut': 'Zoom out',
    'map.attribution': 'Map credits',
    'map.legend': 'Legend',
    'map.legendClose': 'Close legend',
    'map.you': 'You / chosen place',
    'map.savedArea': 'Saved offline area',
    'map.cluster': 'Several services (tap to zoom in)',
    'map.other': 'Other services',
    'display.title': 'Display',
    'display.system': 'Follow the phone (light or dark)',
    'display.outdoor': 'Outdoor: high contrast',

    'age.justNow': 'just now',
    'age.minutes': '{n} min ago',
    'age.hours': '{n} h ago',
    'age.day': '1 day ago',
    'age.days': '{n} days ago',
    'capacity.freeOne': '{n} {unit} free',
    'capacity.fullUnit': 'Full: {unit}',
    'capacity.staleHint': 'old count, may have changed',
    'unit.cots': 'cots',
    'unit.appointments': 'appointments',
    'unit.meals': 'meals',
    'unit.one.beds': 'bed',
    'unit.one.cots': 'cot',
    'unit.one.rooms': 'room',
    'unit.one.spaces': 'space',
    'unit.one.appointments': 'appointment',
    'unit.one.meals': 'meal',
    'unitName.beds': 'Beds',
    'unitName.cots': 'Cots',
    'unitName.rooms': 'Rooms',
    'unitName.spaces': 'Spaces',
    'unitName.appointments': 'Appointments',
    'unitName.meals': 'Meals',

    'report.warning': 'Warning:',
    'report.warnings': 'Warnings from the field',
    'report.warn.closed_permanently': 'Reported closed for good {age}',
    'report.warn.closed_today': 'Reported closed {age}',
    'report.warn.full': 'Reported full {age}',
    'report.warn.wrong_phone': 'Phone number reported wrong {age}',
    'report.warn.wrong_address': 'Address reported wrong {age}',
    'report.warn.wrong_hours': 'Hours reported wrong {age}',
    'report.warn.moved': 'Reported moved {age}',
    'report.warn.other': 'Reported wrong information {age}',
    'report.count': '{n} reports',
    'report.open': 'Report wrong information',
    'report.title': 'Report wrong information',
    'report.back': 'Back',
    'report.kind': 'What is wrong?',
    'report.kind.closed_permanently': 'Closed for good',
    'report.kind.closed_today': 'Closed today',
    'report.kind.full': 'Full',
    'report.kind.wrong_phone': 'Wrong phone number',
    'report.kind.wrong_address': 'Wrong address',
    'report.kind.wrong_hours': 'Wrong hours',
    'report.kind.moved': 'Moved',
    'report.kind.other': 'Something else',
    'report.note': 'What you saw (optional)',
    'report.noteCount': '{n} / {max} characters',
    'report.privacyTitle': 'No names or personal details:',
    'report.privacy': 'this goes to the 211 data team.',
    'report.location': 'Include my location',
    'report.locationHelp': 'Off unless you turn it on. It helps the team find a service that moved.',
    'report.locationUnknown': 'Your location is not known on this phone right now.',
    'report.send': 'Send report',
    'report.cancel': 'Cancel',
    'report.errKind': 'Choose what is wrong.',
    'report.queued': 'Report saved. It will be sent as soon as the network is back.',
    'report.queuedSignIn': 'Report saved. It will be sent as soon as you sign in again.',
    'report.sent': 'Report sent to the 211 data team. Thank you.',
    'report.already': 'Already reported: the 211 team has your report of this.',
    'report.refusedLater': 'Your report about {name} was not accepted: open its card to correct it.',
    'report.refusedHere': 'Your report ({kind}) was not accepted.',
    'report.waiting': 'Your report ({kind}) waits for the network: it will be sent automatically.',
    'report.waitingSignIn': 'Your report ({kind}) will be sent once you sign in.',
    'report.correct': 'Correct and send',
    'report.discard': 'Discard',

    'provider.title': 'My services',
    'provider.text': 'Change a count as soon as it changes: field workers see it within seconds.',
    'provider.loading': 'Loading your services…',
    'provider.none': 'No service is linked to this account yet. Ask your 211 to add your organization.',
    'provider.error': 'Could not load your services: {detail}',
    'provider.offline': 'Offline: counts as loaded {time}. Saving needs the network.',
    'provider.minus': '{unit}: one fewer',
    'provider.plus': '{unit}: one more',
    'provider.full': 'Full',
    'provider.fullLabel': '{unit}: full, none free',
    'provider.countLabel': '{unit} free now',
    'provider.ofMax': 'of {max}',
    'provider.shown': 'Field workers see:',
    'provider.staleHint': 'Old count: field workers see it greyed, as unknown. Update it.',
    'provider.noCount': 'No count yet: add one.',
    'provider.addUnit': 'Add a count of',
    'provider.add': 'Add',
    'provider.addAnother': 'Add another count',
    'provider.save': 'Save',
    'provider.saveName': 'Save {name}',
    'provider.undo': 'Undo',
    'provider.saving': 'Saving…',
    'provider.saved': 'Saved · {age}',
    'provider.unsaved': 'Not saved yet',
    'provider.busy': 'The directory is busy: trying again in {s} s…',
    'provider.offlineSave': 'No network: not saved. Your change is kept: tap Save again when the network is back.',
    'provider.errAboveMax': 'More than the maximum ({max}): check the number.',
    'provider.errNumber': 'Enter a whole number from 0.',
    'provider.reports': 'Reported by field workers',
    'provider.reportsHelp': 'Your 211 checks these reports. If one is wrong, call them.',
    'provider.inactive': 'Not active in the directory',
    'provider.refresh': 'Refresh',

    'error.network': 'No network',
    'error.generic': 'Something went wrong ({status}).',
  },
  fr: {
    'app.title': 'fieldnav',
    'net.online': 'En ligne',
    'net.offline': 'Hors ligne',
    'net.offlinePack': 'Hors ligne · zone enregistrée',
    'net.pending': '{n} à envoyer',
    'lang.switch': 'EN',
    'lang.switchLabel': 'EN: switch to English',
    'tab.nearby': 'À proximité',
    'tab.handoff': '211',
    'tab.offline': 'Hors ligne',
    'tab.account': 'Compte',

    'signin.title': 'Connexion',
    'signin.text': 'Collez le jeton d’accès fourni par votre organisme.',
    'signin.token': 'Jeton d’accès',
    'signin.submit': 'Se connecter',
    'signin.demo': 'Démo locale : ouvrez le lien affiché par `make run`.',
    'signin.refused': 'Ce jeton a été refusé (expiré, révoqué ou destiné à un autre serveur). Demandez-en un nouveau.',
    'signin.unreachable': 'Impossible de joindre le serveur. Vérifiez la connexion et réessayez.',
    'signin.empty': 'Collez d’abord un jeton.',
    'account.title': 'Compte',
    'account.who': 'Connecté : {sub}',
    'account.role': 'Rôle : {role} · organisme : {agency}',
    'account.expires': 'Jeton valide jusqu’à {time}',
    'account.language': 'Langue',
    'account.signout': 'Se déconnecter',
    'account.signoutPending': '{n} transfert(s) ou signalement(s) pas encore envoyé(s) seront supprimés. Se déconnecter quand même?',

    'chips.label': 'Catégories',
    'chips.more': 'Plus',
    'chips.fewer': 'Moins',

    'place.refused': 'Position indisponible. Choisissez un lieu :',
    'place.mapCentre': 'Centre de la carte',
    'place.locate': 'Ma position',
    'place.fromDevice': 'depuis votre position',
    'place.fromPlace': 'depuis {place}',
    'place.mapCentreName': 'le centre de la carte',
    // Le sélecteur de lieu (places.js) : GET /v1/places pendant la saisie.
    'place.search': 'Ville, code postal ou adresse',
    'place.searchOpen': 'Chercher un lieu',
    'place.searching': 'Recherche…',
    'place.found': '{n} lieux trouvés',
    'place.noMatch': 'Aucun lieu trouvé. Essayez une ville, un code postal (K8A) ou une adresse.',
    'place.typeMore': 'Tapez au moins 2 caractères.',
    'place.searchFailed': 'La recherche est indisponible pour le moment.',
    'place.offlineList': 'Hors ligne : lieux de la liste intégrée.',
    'place.kind.city': 'Ville',
    'place.kind.postal_code': 'Code postal',
    'place.kind.postal_prefix': 'Secteur postal',
    'place.kind.address': 'Adresse',

    'list.title': 'Services les plus proches',
    'list.titleCategory': '{category}',
    'list.expand': 'Liste',
    'list.collapse': 'Carte',
    'list.loading': 'Chargement…',
    'list.empty': 'Aucun service correspondant à proximité.',
    'list.offlineNoPack': 'Vous êtes hors ligne et aucune zone n’est enregistrée sur ce téléphone. Enregistrez une zone en ligne pour chercher hors ligne.',
    'list.offlineData': 'données hors ligne du {date}',
    'list.error': 'Impossible de charger la liste : {detail}',
    'list.noOrigin': 'Choisissez un lieu pour voir les services les plus proches.',

    'result.call': 'Appeler',
    'result.directions': 'Itinéraire',
    'result.details': 'Détails',
    'result.callToConnect': 'Appeler pour être mis en relation',
    'result.approx': 'environ {d}',

    'hours.open': 'Ouvert',
    'hours.closed': 'Fermé',
    'hours.unknown': 'Heures inconnues',
    'hours.always': 'Ouvert 24 h/24, 7 j/7',
    'hours.closes': 'ferme à {time}',
    'hours.opens': 'ouvre {time}',

    'capacity.free': '{n} {unit} libres',
    'capacity.full': 'Complet',
    'capacity.asOf': 'au {time}',
    'unit.beds': 'lits',
    'unit.spaces': 'places',
    'unit.rooms': 'chambres',

    'access.walk_in': 'Sans rendez-vous',
    'access.call_first': 'Appeler avant',
    'access.referral': 'Recommandation requise',
    'access.call_to_connect': 'Appeler pour être mis en relation',

    'detail.back': 'Retour',
    'detail.hours': 'Heures',
    'detail.today': 'Aujourd’hui : {hours}',
    'detail.capacity': 'Capacité',
    'detail.eligibility': 'Admissibilité',
    'detail.ages': '{min} à {max} ans',
    'detail.agesFrom': '{min} ans et plus',
    'detail.agesTo': 'Jusqu’à {max} ans',
    'detail.languages': 'Langues',
    'detail.accessibility': 'Accessibilité',
    'detail.address': 'Adresse',
    'detail.phones': 'Téléphones',
    'detail.web': 'Site Web',
    'detail.email': 'Courriel',
    'detail.verified': 'Vérifié le {date}',
    'detail.handoff': 'Transférer au 211',
    'detail.notFound': 'Ce service n’est pas disponible hors ligne.',
    'detail.webMap': 'Carte Web',

    'handoff.title': 'Transférer au 211',
    'handoff.danger': 'Danger immédiat? Composez le 911.',
    'handoff.consent': '1. Consentement',
    'handoff.script': '« Je peux transmettre votre situation au 211, un service gratuit et confidentiel. Un intervenant vous rappellera pour vous aider à trouver des services. Je ne transmettrai que ce qui est nécessaire. Êtes-vous d’accord? »',
    'handoff.consentYes': 'Accepte (consentement verbal)',
    'handoff.consentNo': 'Refuse : transfert anonyme',
    'handoff.needs': '2. Besoins',
    'handoff.note': 'Note pour l’intervenant (facultatif)',
    'handoff.urgency': '3. Urgence',
    'handoff.routine': 'Courant',
    'handoff.urgent': 'Urgent',
    'handoff.callback': '4. Rappel',
    'handoff.callbackPhone': 'Rappeler à ce numéro',
    'handoff.anonymous': 'Anonyme : pas de rappel',
    'handoff.phone': 'Numéro de rappel',
    'handoff.language': 'Langue préférée',
    'handoff.interpreter': 'Interprète requis',
    'handoff.attend': 'Un intervenant doit se rendre sur place',
    'handoff.suggested': 'Suggéré : {name}',
    'handoff.send': 'Envoyer au 211',
    'handoff.errConsent': 'Indiquez la réponse de la personne à la question de consentement.',
    'handoff.errNeeds': 'Choisissez au moins un besoin.',
    'handoff.errPhone': 'Entrez un numéro de rappel ou choisissez anonyme.',
    'handoff.queued': 'Transfert enregistré. Il sera envoyé dès le retour du réseau.',
    'handoff.sent': 'Transfert envoyé à {centre}.',
    'handoff.consentFirst': 'Posez d’abord cette question : la suite du formulaire s’ouvre avec la réponse.',
    'handoff.errPhoneInvalid': 'Ce numéro de téléphone n’est pas valide. Vérifiez les chiffres (p. ex. 416 555 0199), ou choisissez anonyme.',
    'handoff.labelStep': '5. Votre étiquette (reste sur ce téléphone)',
    'handoff.label': 'Une étiquette pour le retrouver (pas le nom de la personne)',
    'handoff.labelHelp': 'Par exemple « rue Queen, 2 h ». Elle n’est jamais envoyée au 211.',
    'handoff.queuedSignIn': 'Transfert enregistré. Il sera envoyé dès que vous vous reconnecterez.',
    'handoff.needsFix': 'Non envoyé : une correction est nécessaire',
    'handoff.fix': 'Corriger et envoyer',
    'handoff.waitingSignIn': 'En attente de votre connexion : sera envoyé ensuite',
    'handoff.waitingFor': 'En attente de la connexion de {subject} : seule cette personne peut l’envoyer',
    'handoff.sentTitle': 'Envoyé à {centre}',
    'handoff.reference': 'Référence :',
    'handoff.referenceHelp': 'Lisez-la à la personne : elle pourra la donner en appelant le 211.',
    'handoff.referenceShort': 'Réf. {code}',
    'handoff.mine': 'Mes transferts',
    'handoff.none': 'Aucun transfert pour l’instant.',
    'handoff.waiting': 'En attente du réseau : envoi automatique',
    'handoff.sending': 'Envoi…',
    'handoff.rejected': 'Refusé : {detail}',
    'handoff.discard': 'Supprimer',
    'handoff.line': 'Ligne du 211',
    'handoff.window': 'Rappel prévu d’ici {time}',
    'handoff.anonymousShort': 'Anonyme',
    'handoff.signin': 'Reconnectez-vous pour l’envoyer.',
    'status.requested': 'Envoyé, en attente d’un intervenant',
    'status.accepted': 'Pris en charge par un intervenant',
    'status.in-progress': 'En cours',
    'status.on-hold': 'En attente',
    'status.completed': 'Terminé',
    'status.rejected': 'Refusé par le 211',
    'status.failed': 'N’a pas pu aboutir',
    'status.cancelled': 'Annulé',
    'status.entered-in-error': 'Saisi par erreur',
    'urgency.routine': 'Courant',
    'urgency.urgent': 'Urgent',

    'offline.title': 'Zone hors ligne',
    'offline.text': 'Gardez une zone sur ce téléphone : la carte, les filtres, la liste et les fiches fonctionnent alors sans réseau, et les mises à jour arrivent à son retour.',
    'offline.save': 'Enregistrer cette zone hors ligne',
    'offline.saving': 'Enregistrement : {step}',
    'offline.step.build': 'préparation',
    'offline.step.map': 'téléchargement de la carte',
    'offline.step.basemap': 'téléchargement du fond de carte',
    'offline.step.services': 'téléchargement des services',
    'offline.step.sync': 'préparation des mises à jour',
    'offline.saved': 'Zone enregistrée',
    'offline.summary': '{count} services · {size}',
    'offline.savedAt': 'Enregistrée le {time}',
    'offline.withBasemap': 'avec fond de carte',
    'offline.synced': 'Mise à jour le {time}',
    'offline.none': 'Aucune zone enregistrée.',
    'offline.sync': 'Mettre à jour',
    'offline.delete': 'Supprimer la zone',
    'offline.needNetwork': 'Une connexion est requise pour enregistrer une zone.',
    'offline.tooLarge': 'Cette zone est trop grande : zoomez et réessayez.',
    'offline.failed': 'Impossible d’enregistrer la zone : {detail}',
    'offline.showArea': 'Voir sur la carte',

    'session.lost': 'Déconnecté : la zone enregistrée, la liste et les fiches fonctionnent toujours sur ce téléphone.',
    'session.lostPending': '{n} transfert(s) ou signalement(s) partiront dès votre connexion.',
    'session.ending': 'Votre connexion prend fin à {time}. Reconnectez-vous avant pour continuer à envoyer des transferts.',
    'session.endingRenews': 'Votre connexion prend fin à {time}. Elle se renouvelle dès le retour du réseau.',
    'session.endedRenews': 'Connexion expirée hors ligne : elle se renouvelle au retour du réseau. Les données et les transferts restent utilisables.',
    'session.signIn': 'Se connecter',
    'session.lostProvider': 'Déconnecté : reconnectez-vous pour enregistrer les comptes. L’affichage n’est peut-être plus à jour.',
    'signin.continue': 'Retour à l’application (données enregistrées)',
    'signin.continuePublic': 'Retour à la carte et à la liste',
    'session.anonymous': 'Non connecté : la carte et la liste sont ouvertes. Connectez-vous pour envoyer des transferts et des signalements.',
    'net.signedOut': 'Déconnecté',
    'account.expired': 'Jeton expiré le {time}',
    'role.field_worker': 'Intervenant terrain',
    'role.supervisor': 'Superviseur',
    'role.navigator': 'Intervenant du 211',
    'role.admin': 'Administrateur',
    'role.provider': 'Fournisseur de services',

    'filters.label': 'Filtres',
    'filters.openNow': 'Ouvert',
    'filters.bedsFree': 'Lits libres',
    'filters.age': 'Âge',
    'filters.ageSet': '{age} ans',
    'filters.ageLabel': 'Âge de la personne',
    'filters.ageApply': 'Appliquer',
    'filters.ageClear': 'Tout âge',
    'filters.ageHelp': 'Services dont les limites d’âge incluent cet âge, et ceux qui n’en ont pas.',
    'filters.who': 'Pour qui',
    'filters.whoSet': 'Pour qui ({n})',
    'filters.whoLabel': 'La personne fait partie des',
    'filters.genderLabel': 'Genre',
    'filters.genderAny': 'Tous',
    'filters.whoClear': 'Tout le monde',
    'filters.whoHelp': 'Services destinés aux groupes choisis, et ceux qui n’indiquent aucune restriction. Un genre n’écarte que les services réservés à un autre genre. La zone de service garde les services dont la zone contient cette adresse, et ceux dont la zone n’est pas connue.',
    'gender.woman': 'Femme',
    'gender.man': 'Homme',
    'gender.gender_diverse': 'Diversité de genre',
    'population.women': 'Femmes',
    'population.men': 'Hommes',
    'population.gender_diverse': 'Diversité de genre',
    'population.youth': 'Jeunes',
    'population.seniors': 'Aînés',
    'population.families': 'Familles',
    'population.indigenous': 'Autochtones',
    'population.newcomers': 'Nouveaux arrivants',
    'population.veterans': 'Vétérans',
    'population.pets': 'Personnes avec animaux',
    'population.fleeing_violence': 'Fuyant la violence',
    'population.2slgbtq': 'Personnes 2ELGBTQ+',
    'result.populations': 'Accueille :',
    'result.unrestricted': 'Aucune restriction indiquée',
    'filters.servesLabel': 'Zone de service',
    'filters.servesHere': 'Seulement les services qui desservent cette adresse',
    'result.servesYes': 'Dessert cette adresse',
    'result.servesNo': 'Hors de sa zone de service',
    'list.filtered': 'filtré',
    'list.signedOutNoPack': 'Vous êtes déconnecté et aucune zone n’est enregistrée sur ce téléphone. Connectez-vous pour voir les services les plus proches.',
    'result.who': 'Pour :',
    'result.whoUnknown': 'Admissibilité non précisée',
    'result.callName': 'Appeler {name}',
    'capacity.noDate': 'date inconnue',
    'hours.allDay': 'toute la journée',

    'offline.what': 'Quoi garder',
    'offline.kindContent': 'Autour de moi : au moins {n} de chaque',
    'offline.categories': 'Catégories à garder',
    'offline.kindView': 'Exactement la vue de la carte (mon secteur)',
    'offline.step.plan': 'calcul de la zone',
    'offline.step.queued': 'en attente du serveur (d’autres zones sont en cours d’enregistrement)',
    'offline.reach': 'Couvre {d} autour du lieu choisi.',
    'offline.noneOf': 'aucun dans cette zone',
    'offline.thin': 'peu',
    'offline.thinWarning': 'Peu de résultats ici : {categories}. Les autres sont hors de la zone enregistrée : enregistrez une zone plus grande, ou appelez le 211.',
    'offline.needSignIn': 'Reconnectez-vous pour enregistrer une zone.',

    'map.title': 'Carte',
    'map.zoomIn': 'Zoom avant',
    'map.zoomOut': 'Zoom arrière',
    'map.attribution': 'Sources de la carte',
    'map.legend': 'Légende',
    'map.legendClose': 'Fermer la légende',
    'map.you': 'Vous / lieu choisi',
    'map.savedArea': 'Zone enregistrée hors ligne',
    'map.cluster': 'Plusieurs services (touchez pour zoomer)',
    'map.other': 'Autres services',
    'display.title': 'Affichage',
    'display.system': 'Comme le téléphone (clair ou sombre)',
    'display.outdoor': 'Extérieur : contraste élevé',

    'age.justNow': 'à l’instant',
    'age.minutes': 'il y a {n} min',
    'age.hours': 'il y a {n} h',
    'age.day': 'il y a 1 jour',
    'age.days': 'il y a {n} jours',
    'capacity.freeOne': '{n} {unit} libre',
    'capacity.fullUnit': 'Complet : {unit}',
    'capacity.staleHint': 'ancien compte, peut avoir changé',
    'unit.cots': 'lits de camp',
    'unit.appointments': 'rendez-vous',
    'unit.meals': 'repas',
    'unit.one.beds': 'lit',
    'unit.one.cots': 'lit de camp',
    'unit.one.rooms': 'chambre',
    'unit.one.spaces': 'place',
    'unit.one.appointments': 'rendez-vous',
    'unit.one.meals': 'repas',
    'unitName.beds': 'Lits',
    'unitName.cots': 'Lits de camp',
    'unitName.rooms': 'Chambres',
    'unitName.spaces': 'Places',
    'unitName.appointments': 'Rendez-vous',
    'unitName.meals': 'Repas',

    'report.warning': 'Avertissement :',
    'report.warnings': 'Avertissements du terrain',
    'report.warn.closed_permanently': 'Signalé fermé définitivement {age}',
    'report.warn.closed_today': 'Signalé fermé {age}',
    'report.warn.full': 'Signalé complet {age}',
    'report.warn.wrong_phone': 'Numéro signalé erroné {age}',
    'report.warn.wrong_address': 'Adresse signalée erronée {age}',
    'report.warn.wrong_hours': 'Heures signalées erronées {age}',
    'report.warn.moved': 'Signalé déménagé {age}',
    'report.warn.other': 'Information signalée erronée {age}',
    'report.count': '{n} signalements',
    'report.open': 'Signaler une information erronée',
    'report.title': 'Signaler une information erronée',
    'report.back': 'Retour',
    'report.kind': 'Qu’est-ce qui ne va pas?',
    'report.kind.closed_permanently': 'Fermé définitivement',
    'report.kind.closed_today': 'Fermé aujourd’hui',
    'report.kind.full': 'Complet',
    'report.kind.wrong_phone': 'Mauvais numéro de téléphone',
    'report.kind.wrong_address': 'Mauvaise adresse',
    'report.kind.wrong_hours': 'Mauvaises heures',
    'report.kind.moved': 'A déménagé',
    'report.kind.other': 'Autre chose',
    'report.note': 'Ce que vous avez constaté (facultatif)',
    'report.noteCount': '{n} / {max} caractères',
    'report.privacyTitle': 'Aucun nom ni renseignement personnel :',
    'report.privacy': 'ceci va à l’équipe des données du 211.',
    'report.location': 'Inclure ma position',
    'report.locationHelp': 'Désactivé tant que vous ne l’activez pas. Aide l’équipe à trouver un service qui a déménagé.',
    'report.locationUnknown': 'Votre position n’est pas connue sur ce téléphone pour le moment.',
    'report.send': 'Envoyer le signalement',
    'report.cancel': 'Annuler',
    'report.errKind': 'Choisissez ce qui ne va pas.',
    'report.queued': 'Signalement enregistré. Il sera envoyé dès le retour du réseau.',
    'report.queuedSignIn': 'Signalement enregistré. Il sera envoyé dès que vous vous reconnecterez.',
    'report.sent': 'Signalement envoyé à l’équipe des données du 211. Merci.',
    'report.already': 'Déjà signalé : le 211 a déjà votre signalement à ce sujet.',
    'report.refusedLater': 'Votre signalement sur {name} n’a pas été accepté : ouvrez sa fiche pour le corriger.',
    'report.refusedHere': 'Votre signalement ({kind}) n’a pas été accepté.',
    'report.waiting': 'Votre signalement ({kind}) attend le réseau : envoi automatique.',
    'report.waitingSignIn': 'Votre signalement ({kind}) partira dès votre connexion.',
    'report.correct': 'Corriger et envoyer',
    'report.discard': 'Supprimer',

    'provider.title': 'Mes services',
    'provider.text': 'Changez un compte dès qu’il change : les intervenants le voient en quelques secondes.',
    'provider.loading': 'Chargement de vos services…',
    'provider.none': 'Aucun service n’est encore lié à ce compte. Demandez à votre 211 d’y ajouter votre organisme.',
    'provider.error': 'Impossible de charger vos services : {detail}',
    'provider.offline': 'Hors ligne : comptes chargés le {time}. L’enregistrement demande le réseau.',
    'provider.minus': '{unit} : un de moins',
    'provider.plus': '{unit} : un de plus',
    'provider.full': 'Complet',
    'provider.fullLabel': '{unit} : complet, aucun de libre',
    'provider.countLabel': '{unit} libres maintenant',
    'provider.ofMax': 'sur {max}',
    'provider.shown': 'Les intervenants voient :',
    'provider.staleHint': 'Compte ancien : les intervenants le voient en gris, comme inconnu. Mettez-le à jour.',
    'provider.noCount': 'Aucun compte pour l’instant : ajoutez-en un.',
    'provider.addUnit': 'Ajouter un compte de',
    'provider.add': 'Ajouter',
    'provider.addAnother': 'Ajouter un autre compte',
    'provider.save': 'Enregistrer',
    'provider.saveName': 'Enregistrer {name}',
    'provider.undo': 'Annuler',
    'provider.saving': 'Enregistrement…',
    'provider.saved': 'Enregistré · {age}',
    'provider.unsaved': 'Pas encore enregistré',
    'provider.busy': 'Le répertoire est occupé : nouvel essai dans {s} s…',
    'provider.offlineSave': 'Pas de réseau : rien n’est enregistré. Votre changement est gardé : touchez Enregistrer au retour du réseau.',
    'provider.errAboveMax': 'Plus que le maximum ({max}) : vérifiez le nombre.',
    'provider.errNumber': 'Entrez un nombre entier, 0 ou plus.',
    'provider.reports': 'Signalé par les intervenants',
    'provider.reportsHelp': 'Votre 211 vérifie ces signalements. Si l’un d’eux est faux, appelez-le.',
    'provider.inactive': 'Inactif dans le répertoire',
    'provider.refresh': 'Actualiser',

    'error.network': 'Pas de réseau',
    'error.generic': 'Une erreur est survenue ({status}).',
  },
};

export const LANGUAGES = ['en', 'fr'];
const STORAGE_KEY = 'fieldnav.lang';

function initialLanguage() {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (LANGUAGES.includes(stored)) return stored;
  return (navigator.language || 'en').toLowerCase().startsWith('fr') ? 'fr' : 'en';
}

let current = initialLanguage();
const listeners = [];

export function lang() {
  return current;
}

export function t(key, vars = {}) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (vars[name] ?? `{${name}}`));
}

export function setLanguage(code) {
  if (!LANGUAGES.includes(code) || code === current) return;
  current = code;
  localStorage.setItem(STORAGE_KEY, code);
  applyStatic(document);
  for (const fn of listeners) fn(code);
}

export function onLanguageChange(fn) {
  listeners.push(fn);
}

export function applyStatic(root) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria));
}

export function categoryLabel(category) {
  if (!category) return '';
  return (current === 'fr' ? category.label_fr : category.label_en) || category.label_en || category.code;
}

const locale = () => (current === 'fr' ? 'fr-CA' : 'en-CA');

export function formatDistance(metres) {
  if (metres == null) return '';
  if (metres < 1000) return `${Math.round(metres / 10) * 10 || Math.round(metres)} m`;
  const km = metres / 1000;
  return `${new Intl.NumberFormat(locale(), { maximumFractionDigits: km < 10 ? 1 : 0 }).format(km)} km`;
}

export function formatBytes(bytes) {
  const mb = bytes / 1_000_000;
  if (mb >= 1) return `${new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(mb)} MB`;
  return `${Math.max(1, Math.round(bytes / 1000))} kB`;
}

export function formatDateTime(value) {
  if (!value) return '';
  const date = value instanceof Date ? value : new Date(value);
  return `${new Intl.DateTimeFormat(locale(), { dateStyle: 'medium' }).format(date)}, ${formatHm(date.getHours(), date.getMinutes())}`;
}

// "Dec 4, 12:19" (no year: a saved area is days old, not years).
export function formatShortDateTime(value) {
  const date = value instanceof Date ? value : new Date(value);
  const day = new Intl.DateTimeFormat(locale(), { month: 'short', day: 'numeric' }).format(date);
  return `${day}, ${formatHm(date.getHours(), date.getMinutes())}`;
}

// One way to write a time in each language: "19:00" in English, "19 h" / "19 h 30" in French
// (the Office québécois de la langue française's usage), on the list, the card and the banner.
export function formatHm(hours, minutes) {
  if (current === 'fr') return minutes ? `${hours} h ${String(minutes).padStart(2, '0')}` : `${hours} h`;
  return `${String(hours).padStart(2, '0')}:${String(minutes).padStart(2, '0')}`;
}

// A time of day written "HH:MM" (the API's schedules), in the app's format.
export function formatHmText(text) {
  const match = /^(\d{1,2}):(\d{2})$/.exec(text);
  return match ? formatHm(Number(match[1]), Number(match[2])) : text;
}

function clockOf(date, timeZone) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', { timeZone, hour: 'numeric', minute: 'numeric', hourCycle: 'h23' })
    .formatToParts(date).map((p) => [p.type, p.value]));
  return formatHm(Number(parts.hour) % 24, Number(parts.minute));
}

// A weekday alone names a day of the coming week; further off ("the third Wednesday" of
// a monthly schedule) "Wed" would be read as this Wednesday, so the date is added.
const WEEKDAY_ALONE_MS = 6 * 24 * 3600 * 1000;

// "22:00" today, "Tue 22:00" within the week, else "Wed, Dec 16 10:00", in the service's own time zone.
export function formatClock(value, timeZone, now = new Date()) {
  const date = value instanceof Date ? value : new Date(value);
  const dayOf = (d) => new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
  const time = clockOf(date, timeZone);
  if (dayOf(date) === dayOf(now)) return time;
  const withDate = Math.abs(date.getTime() - now.getTime()) >= WEEKDAY_ALONE_MS;
  const parts = withDate ? { weekday: 'short', month: 'short', day: 'numeric' } : { weekday: 'short' };
  const day = new Intl.DateTimeFormat(locale(), { timeZone, ...parts }).format(date);
  return `${day} ${time}`;
}

// "2 h ago", "3 days ago" ("il y a 2 h", "il y a 3 jours"), "as of Sep 5, 2025": how old a
// count or a report is, the same words in the list, the card and the provider view.
export function formatAge(value, now = Date.now()) {
  const date = value instanceof Date ? value : new Date(value);
  const minutes = Math.max(0, Math.floor((now - date.getTime()) / 60_000));
  if (minutes < 1) return t('age.justNow');
  if (minutes < 60) return t('age.minutes', { n: minutes });
  if (minutes < 48 * 60) return t('age.hours', { n: Math.round(minutes / 60) });
  const days = Math.round(minutes / (24 * 60));
  if (minutes < 14 * 24 * 60) return t(days === 1 ? 'age.day' : 'age.days', { n: days });
  return t('capacity.asOf', { time: new Intl.DateTimeFormat(locale(), { dateStyle: 'medium' }).format(date) });
}

// A language's name in the app's language ("arabe", "Arabic"), from its ISO 639 code.
export function languageName(code, fallback = code) {
  try {
    const name = new Intl.DisplayNames([locale()], { type: 'language' }).of(code);
    return name && name !== code ? name.charAt(0).toLocaleUpperCase(locale()) + name.slice(1) : fallback;
  } catch {
    return fallback;
  }
}

export function roleLabel(role) {
  const key = `role.${role}`;
  const text = t(key);
  return text === key ? role : text;
}

// A unit after a number: "beds" (or "bed" for one: n === 1); an imported unit outside the
// vocabulary as it came.
export function unitLabel(unit, n = 2) {
  const key = n === 1 ? `unit.one.${unit}` : `unit.${unit}`;
  const text = t(key);
  if (text !== key) return text;
  return n === 1 ? unitLabel(unit) : unit || '';
}

// A unit as a heading: "Beds", "Lits".
export function unitName(unit) {
  const key = `unitName.${unit}`;
  const text = t(key);
  return text === key ? (unit ? unit.charAt(0).toLocaleUpperCase(locale()) + unit.slice(1) : '') : text;
}
