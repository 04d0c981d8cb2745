# Cartas: los correos, mensajes de texto y notificaciones que envía Help On Demand (véase
# crates/i18n/src/letter.rs). Mismos nombres que en en-US.

letter-footer = Help On Demand pone en contacto a los consumidores con agentes y corredores con licencia registrados en el Mercado de Seguros Médicos. Este es un mensaje automático; las respuestas no se leen.

## Agentes

letter-invitation-subject = Su invitación a Help On Demand
letter-invitation-body =
    Hola, { $name }:

    Usted es elegible para participar en Help On Demand en el año del plan { $plan_year }. Cree su perfil con el vínculo seguro que aparece abajo.

    El vínculo funciona una sola vez y expira en 48 horas, el { $expires }. Si ha expirado, pida uno nuevo a la Mesa de Ayuda de Help On Demand. Su nombre y su correo electrónico provienen de su perfil de MLMS.
letter-invitation-action = Crear su perfil

letter-registered-subject = Su cuenta de Help On Demand está lista
letter-registered-body =
    Hola, { $name }:

    Su cuenta de Help On Demand está lista. Su nombre de usuario es { $username }.

    La primera vez que inicie sesión se le pedirá que acepte las Condiciones de uso y luego que revise sus idiomas y los estados en los que desea recibir referidos.
letter-registered-action = Iniciar sesión

letter-phone-code-short = Help On Demand: este es su mensaje de texto de prueba. Su código es { $code }; escríbalo después de iniciar sesión para confirmar este teléfono.

letter-offer-subject = Tiene un nuevo referido
letter-offer-body =
    Hola, { $first_name }:

    Tiene un nuevo referido de Help On Demand: un consumidor en { $place } que habla { $language } necesita ayuda con { $reason ->
        [new_coverage] una cobertura nueva
        [change] un cambio de plan
        [special_enrollment] un Período de Inscripción Especial
       *[other] su cobertura del Mercado
    }.

    Acéptelo o rechácelo antes de las { $until }. Si no responde para entonces, pasará a otro agente.
letter-offer-action = Responder a la oferta
letter-offer-short = Help On Demand: nuevo referido en { $place } ({ $language }). Acéptelo o rechácelo antes de las { $until }: { $link }
letter-offer-push = Un consumidor en { $place } que habla { $language } necesita ayuda. Responda antes de las { $until }.

letter-offer-reminder-subject = Recordatorio: su oferta de referido vence a las { $until }
letter-offer-reminder-body =
    Hola, { $first_name }:

    Ya pasó la mitad del tiempo para responder a la oferta de referido en { $place }. Acéptela o rechácela antes de las { $until }; de lo contrario, pasará a otro agente.
letter-offer-reminder-action = Responder a la oferta
letter-offer-reminder-short = Help On Demand: el referido en { $place } sigue esperando su respuesta. Acéptelo o rechácelo antes de las { $until }: { $link }
letter-offer-reminder-push = El referido en { $place } sigue esperando. Responda antes de las { $until }.

letter-offer-expired-subject = Venció una oferta de referido
letter-offer-expired-body =
    Hola, { $first_name }:

    La oferta de referido en { $place } venció a las { $expired } sin respuesta, así que pasó a otro agente.

    Después de 3 ofertas seguidas sin respuesta, Help On Demand cambia su estado a No disponible. Si no puede recibir referidos ahora, cambie usted su estado a No disponible.
letter-offer-expired-action = Configuración de disponibilidad

letter-paused-subject = Su estado cambió a No disponible
letter-paused-body =
    Hola, { $first_name }:

    No respondió a { $streak } ofertas de referidos seguidas, por lo que Help On Demand cambió su estado a No disponible (rojo). No recibirá ofertas hasta que lo vuelva a cambiar a Disponible o a Seguir mi horario.
letter-paused-action = Configuración de disponibilidad

letter-follow-up-subject = Recordatorio: dé seguimiento a su referido
letter-follow-up-body =
    Hola, { $first_name }:

    Hace una hora aceptó el referido n.º { $referral } de Help On Demand. Comuníquese ahora con el consumidor y luego registre "Seguimiento completado".
letter-follow-up-action = Abrir el referido

letter-locked-subject = Su cuenta de Help On Demand está bloqueada
letter-locked-body =
    Hola, { $first_name }:

    Después de { $attempts } intentos fallidos de inicio de sesión, su cuenta de Help On Demand está bloqueada durante { $minutes } minutos.

    Si no fue usted, restablezca su contraseña ahora: el vínculo para restablecerla funciona durante el bloqueo.
letter-locked-action = Restablecer su contraseña

letter-reset-subject = Restablezca su contraseña de Help On Demand
letter-reset-body =
    Hola, { $first_name }:

    Para elegir una contraseña nueva de Help On Demand, abra el vínculo que aparece abajo en los próximos { $minutes } minutos. Funciona una sola vez.

    Si usted no lo pidió, ignore este correo electrónico: su contraseña seguirá igual.
letter-reset-action = Elegir una contraseña nueva

letter-password-changed-subject = Se cambió su contraseña de Help On Demand
letter-password-changed-body =
    Hola, { $first_name }:

    Se cambió su contraseña de Help On Demand y se cerró su sesión en todos los dispositivos.

    Si no fue usted, comuníquese de inmediato con la Mesa de Ayuda.

letter-username-subject = Su nombre de usuario de Help On Demand
letter-username-body =
    Hola, { $first_name }:

    Su nombre de usuario de Help On Demand es { $username }.
letter-username-action = Iniciar sesión

## Consumidores

letter-confirmation-subject = Recibimos su solicitud de ayuda
letter-confirmation-body =
    Hola, { $first_name }:

    Recibimos su solicitud y estamos buscando un agente con licencia cerca de usted. Puede ver el estado de su solicitud en su página.
letter-confirmation-action = Ver el estado de su solicitud
letter-confirmation-short = Help On Demand: recibimos su solicitud y estamos buscando un agente con licencia cerca de usted. Vea su estado aquí: { $link }

letter-link-again-subject = El vínculo a su solicitud de ayuda
letter-link-again-body =
    Hola, { $first_name }:

    Usted ya pidió ayuda hace unos minutos. Puede ver el estado de esa solicitud en su página.
letter-link-again-action = Ver el estado de su solicitud
letter-link-again-short = Help On Demand: usted ya pidió ayuda hace unos minutos. Vea el estado de esa solicitud aquí: { $link }

letter-accepted-subject = Un agente con licencia se comunicará con usted
letter-accepted-body =
    Hola, { $first_name }:

    { $agent }, agente con licencia, aceptó su solicitud y se comunicará con usted en un plazo de 60 minutos.
letter-accepted-action = Ver su solicitud
letter-accepted-short = Help On Demand: { $agent }, agente con licencia, aceptó su solicitud y se comunicará con usted en un plazo de 60 minutos. { $link }

letter-no-agent-subject = No encontramos un agente en este momento
letter-no-agent-body =
    Hola, { $first_name }:

    No encontramos un agente disponible en este momento. Llame al Centro de Llamadas del Mercado al { $phone }, las 24 horas del día, los 7 días de la semana.
letter-no-agent-action = Ver su solicitud
letter-no-agent-short = Help On Demand: no encontramos un agente disponible en este momento. Llame al Centro de Llamadas del Mercado al { $phone } (24/7). { $link }

## Un mensaje de texto que no se pudo enviar, por correo

letter-text-undeliverable-subject = Urgente: no pudimos enviarle un mensaje de texto
letter-text-undeliverable-body =
    Hola:

    No pudimos entregar un mensaje de texto al { $phone }. Esto es lo que decía:

    { $text }

    Si este número está equivocado o no puede recibir mensajes de texto, denos uno que sí pueda.

letter-text-stopped-subject = Nuestro mensaje de texto, por correo electrónico
letter-text-stopped-body =
    Hola:

    Usted nos pidió que dejáramos de enviar mensajes de texto al { $phone }, así que aquí tiene nuestro mensaje por correo electrónico:

    { $text }

    Para volver a recibir mensajes de texto, responda START a cualquiera de nuestros mensajes.

letter-operator-invite-subject = Su cuenta de la consola de Help On Demand
letter-operator-invite-body =
    Hola:

    Un administrador le creó una cuenta de la consola de Help On Demand con el nombre de usuario { $username }.

    Abra el vínculo que aparece abajo en las próximas { $hours } horas para elegir su contraseña. Funciona una sola vez.

    Si no lo esperaba, ignore este correo electrónico.
letter-operator-invite-action = Elegir su contraseña

letter-assigned-subject = Se le asignó un referido
letter-assigned-body =
    Hola, { $first_name }:

    La Mesa de Ayuda de Help On Demand le asignó un referido en { $place }. Comuníquese con el consumidor en los próximos { $minutes } minutos y luego registre "Seguimiento completado".
letter-assigned-action = Abrir el referido

letter-operator-password-subject = Elija una contraseña nueva para la consola de Help On Demand
letter-operator-password-body =
    Hola:

    Un administrador le envió este vínculo para elegir una contraseña nueva para su cuenta { $username } de la consola de Help On Demand.

    Ábralo en las próximas { $hours } horas. Funciona una sola vez y cierra todas las sesiones abiertas con su contraseña anterior.

    Si usted no lo pidió, avísele a un administrador.
letter-operator-password-action = Elegir una contraseña nueva
