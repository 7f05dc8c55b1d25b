# Las páginas del módulo en español.
plural = one-if-1
date = {d} de {month} de {Y}, {H}:{M} UTC
month.1 = enero
month.2 = febrero
month.3 = marzo
month.4 = abril
month.5 = mayo
month.6 = junio
month.7 = julio
month.8 = agosto
month.9 = septiembre
month.10 = octubre
month.11 = noviembre
month.12 = diciembre

prompt.title = Iniciar sesión
prompt.heading = Iniciar sesión
prompt.heading_brand = Inicia sesión para continuar en {brand_name}
prompt.invited = {invited_by} te ha invitado a unirte a {invited_org}.
prompt.label = Nombre de la organización o correo electrónico del trabajo
prompt.continue = Continuar
prompt.unknown = No hay ninguna organización con ese nombre.
prompt.bad_email = Esa dirección de correo electrónico no es válida.
prompt.no_domain = Ninguna organización usa ese dominio de correo. Escribe el nombre de tu organización.
prompt.ambiguous = Varias organizaciones tienen ese nombre. Escribe el nombre corto de la organización.

chooser.title = Iniciar sesión en {org_label}
chooser.heading = Elige cómo iniciar sesión
chooser.none = Esta organización no tiene ningún método de inicio de sesión activado.

error.title = No se pudo iniciar sesión
error.code_label = Código de error:
error.try_again = Intentar de nuevo
error.code.access_denied = No tienes acceso o se canceló el inicio de sesión.
error.code.invalid_request = La solicitud de inicio de sesión no era válida.
error.code.server_error = Algo salió mal por nuestra parte.
error.code.temporarily_unavailable = Ahora mismo no es posible iniciar sesión.
error.code.login_required = Tu organización te pide que vuelvas a iniciar sesión.
error.code.interaction_required = El inicio de sesión de tu organización necesita que actúes en su página.
error.code.consent_required = La aplicación necesita tu consentimiento en el inicio de sesión de tu organización.
error.code.unauthorized_client = Esta aplicación no puede usar el inicio de sesión de tu organización.
error.code.invalid_scope = La aplicación pidió a tu organización algo que no le está permitido.
error.code.other = No se pudo completar el inicio de sesión.

denied.title = Acceso denegado
denied.role.one = Has iniciado sesión en {org_label} como {user}, pero esta página requiere el rol {needed}.
denied.role.other = Has iniciado sesión en {org_label} como {user}, pero esta página requiere uno de estos roles: {needed}.
denied.member = Has iniciado sesión en {org_label} como {user}, pero esta página es para otra organización.
denied.meta = Has iniciado sesión en {org_label} como {user}, pero tu organización no tiene acceso a esta página.
denied.connection = Has iniciado sesión en {org_label} como {user}, pero esta página requiere iniciar sesión con {needed}.
denied.other = Has iniciado sesión en {org_label} como {user}, pero no tienes acceso a esta página.
denied.since = Sesión iniciada el {since}.
denied.switch = Cambiar de organización
denied.sign_out = Cerrar sesión

signed_out.title = Has cerrado la sesión
signed_out.text = Has cerrado la sesión.
signed_out.text_org = Has cerrado la sesión de {org_label}.
signed_out.again = Volver a iniciar sesión

switcher.heading.one = Tu otra organización
switcher.heading.other = Tus otras {count} organizaciones

confirm.login.title = ¿Iniciar sesión en {org_label}?
confirm.login.text = Otro sitio te ha enviado aquí para iniciar sesión en {org_label}. Continúa solo si era tu intención.
confirm.login.text_switch = Otro sitio te ha enviado aquí para iniciar sesión en {org_label}. Aquí usas {current}; iniciar sesión cambiaría este navegador a {org_label}. Continúa solo si era tu intención.
confirm.login.button = Continuar al inicio de sesión
confirm.logout.title = ¿Cerrar sesión?
confirm.logout.text = Otro sitio ha pedido cerrar tu sesión de {org_label}. Ciérrala solo si era tu intención.
confirm.logout.button = Cerrar sesión

invite.title = Invitación a {org_label}
invite.heading = Unirse a {org_label}
invite.text = Le han invitado a unirse a {org_label}. Inicie sesión con uno de estos métodos para aceptar.
invite.from = Invitado por
invite.to = Invitación para
